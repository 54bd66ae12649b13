using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>Drawing samples from a fixed seed without disturbing the training RNG (every adapter does).</summary>
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
}
