using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>What every adapter shares: drawing samples from a fixed seed without disturbing the training RNG.</summary>
static class Rng
{
    /// <summary>Runs <paramref name="body"/> with libtorch's CPU generator seeded by <paramref name="seed"/>, then puts the
    /// generator back, so sample grids during training leave a resumed run bit-identical to a straight one.</summary>
    public static T WithSeed<T>(long seed, Func<T> body)
    {
        using var saved = random.get_rng_state();
        random.manual_seed(seed);
        try { return body(); }
        finally { random.set_rng_state(saved); }
    }

    public static string Preset(string preset) => preset.ToLowerInvariant() switch
    {
        "small" or "paper" => preset.ToLowerInvariant(),
        _ => throw new UsageException($"--preset '{preset}': choose small (CPU) or paper."),
    };

    public static (int Channels, int Size) Shape(ImageDataset data)
    {
        if (data.Height != data.Width)
            throw new UsageException($"{data.Name}: images are {data.Height}x{data.Width}; the models need square images.");
        return ((int)data.Channels, (int)data.Height);
    }
}
