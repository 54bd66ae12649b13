using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>The <see cref="CodePrior"/>s of a VQ-VAE, one per level, top first, as one module (so their parameters and
/// state are registered together: "0.…", "1.…").</summary>
public sealed class CodePriors : nn.Module
{
    readonly ModuleList<CodePrior> levels;

    /// <summary>The priors of <paramref name="model"/>'s levels (<see cref="VqVae.NewPrior"/>).</summary>
    public CodePriors(VqVae model) : base(nameof(CodePriors))
    {
        levels = new ModuleList<CodePrior>(Enumerable.Range(0, model.Config.Levels).Select(model.NewPrior).ToArray());
        RegisterComponents();
    }

    /// <summary>The priors, top first.</summary>
    public IReadOnlyList<CodePrior> Levels => levels.ToList();
}
