using Workbench.Data;

namespace Workbench.Cli.Families;

/// <summary>The checks every family makes of its preset name and of the data's image shape.</summary>
static class FamilyDefaults
{
    /// <summary>The preset name, lower-cased: small (CPU) or paper.</summary>
    public static string Preset(string preset) => preset.ToLowerInvariant() switch
    {
        "small" or "paper" => preset.ToLowerInvariant(),
        _ => throw new UsageException($"--preset '{preset}': choose small (CPU) or paper."),
    };

    /// <summary>(channels, side) of square images; a clear error otherwise.</summary>
    public static (int Channels, int Size) Shape(ImageDataset data)
    {
        if (data.Height != data.Width)
            throw new UsageException($"{data.Name}: images are {data.Height}x{data.Width}; the models need square images.");
        return ((int)data.Channels, (int)data.Height);
    }
}
