using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// NVAE's spectral regularisation (Vahdat &amp; Kautz 2020, Section 3.1, "Spectral regularization"):
/// L_SR = λ Σ_i s_i, where s_i is the largest singular value of conv layer i's applied weight (the normalised one
/// of a <see cref="WeightNormConv2d"/>, the plain weight otherwise), estimated by power iteration with u, v kept
/// across steps (<see cref="SpectralNorm"/>). Bounding the Lipschitz constant of every layer keeps the encoder's
/// outputs from changing abruptly with its input, which the paper found essential for stable training of deep
/// hierarchical VAEs. As in NVAE's code, the first estimate runs 10× the per-step count
/// (<see cref="InitialIterations"/> = 40, here at construction) and every training step
/// <see cref="ReferenceIterations"/> = 4. The u, v buffers are registered here, so they travel with the state dict.
/// </summary>
public sealed class SpectralRegularizer : nn.Module
{
    /// <summary>Power-iteration steps per training step in NVAE's code.</summary>
    public const int ReferenceIterations = 4;

    /// <summary>Power-iteration steps of the first estimate in NVAE's code (10 × <see cref="ReferenceIterations"/>).</summary>
    public const int InitialIterations = 10 * ReferenceIterations;

    readonly ModuleList<SpectralNorm> norms;
    readonly Func<Tensor>[] weights;

    /// <summary>Covers every conv layer in the module trees of <paramref name="parts"/> (as listed when the
    /// regulariser is built): each <see cref="WeightNormConv2d"/> through its applied weight, every other Conv2d
    /// through its own weight; the convs of <see cref="InverseAutoregressiveCell"/>s are not covered.</summary>
    public SpectralRegularizer(IEnumerable<nn.Module> parts, int initialIterations = InitialIterations, long seed = 1)
        : base(nameof(SpectralRegularizer))
    {
        weights = ConvWeights(parts).ToArray();
        var g = new Generator((ulong)seed);
        var shapes = weights.Select(w => { using var _ = no_grad(); using var sc = NewDisposeScope(); return w().shape; }).ToArray();
        norms = new ModuleList<SpectralNorm>(shapes.Select(s => new SpectralNorm(s[0], s.Skip(1).Aggregate(1L, (a, b) => a * b), g)).ToArray());
        RegisterComponents();
        if (initialIterations > 0)
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            for (int i = 0; i < weights.Length; i++) norms[i].Sigma(weights[i](), initialIterations);
        }
    }

    /// <summary>The applied weight of every conv layer in the trees of <paramref name="parts"/> (the modules
    /// themselves included; a ModuleList not yet registered in a parent lists no children, so pass its items).</summary>
    public static IEnumerable<Func<Tensor>> ConvWeights(IEnumerable<nn.Module> parts)
    {
        var all = parts.SelectMany(m => new[] { m }.Concat(m.modules())).Distinct().ToList();
        var normalized = all.OfType<WeightNormConv2d>().ToList();
        var inner = new HashSet<Conv2d>(normalized.Select(w => w.Conv), ReferenceEqualityComparer.Instance);
        // IAF cells are left out: the regulariser's gradient on their unmasked weights would pull masked entries
        // off zero (papers/nvae.md, design decisions)
        inner.UnionWith(all.OfType<InverseAutoregressiveCell>().SelectMany(c => c.modules()).OfType<Conv2d>());
        return normalized.Select(w => (Func<Tensor>)(() => w.Weight))
            .Concat(all.OfType<Conv2d>().Where(c => !inner.Contains(c)).Select(c => (Func<Tensor>)(() => c.weight!)));
    }

    public int Count => weights.Length;

    /// <summary>The weights the regulariser bounds (differentiable), in its order.</summary>
    public Tensor[] Weights() => weights.Select(w => w()).ToArray();

    /// <summary>Σ_i s_i (differentiable), after <paramref name="iterations"/> power-iteration steps per layer.</summary>
    public Tensor SumOfSigmas(int iterations = ReferenceIterations)
    {
        using var scope = NewDisposeScope();
        var s = stack(weights.Select((w, i) => norms[i].Sigma(w(), iterations)).ToArray()).sum();
        return s.MoveToOuterDisposeScope();
    }

    /// <summary>The current estimate of each layer's largest singular value (no gradient).</summary>
    public double[] Sigmas()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return weights.Select((w, i) => (double)norms[i].Sigma(w(), 0).item<float>()).ToArray();
    }
}
