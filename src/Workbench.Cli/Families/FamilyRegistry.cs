namespace Workbench.Cli.Families;

/// <summary>The model families the command line knows, by name.</summary>
public static class FamilyRegistry
{
    static readonly IModelFamily[] All =
    {
        new GlowFamily("glow"), new GlowFamily("realnvp"), new GlowFamily("nice"),
        new NvaeFamily(hierarchical: true), new NvaeFamily(hierarchical: false), new StyleGan2Family(),
        new DiffusionFamily(),
        new AutoregressiveFamily(AutoregressiveFamily.Plain), new AutoregressiveFamily(AutoregressiveFamily.Gated), new AutoregressiveFamily(AutoregressiveFamily.PlusPlus),
        new AutoregressiveFamily(AutoregressiveFamily.Maf), new VqVaeFamily(),
        new GanFamily("gan"), new GanFamily("dcgan"), new GanFamily("wgan-gp"),
    };

    public static IEnumerable<string> Names => All.Select(f => f.Name);

    public static IModelFamily Get(string name) =>
        All.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown model '{name}': choose one of {string.Join(", ", Names)}.");
}
