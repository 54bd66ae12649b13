using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// NVAE's spectral regularisation (Vahdat &amp; Kautz 2020, Section 3.1, "Spectral regularization"):
/// L_SR = λ Σ_i s_i, where s_i is the largest singular value of conv layer i, estimated by power iteration with
/// u, v kept across steps (<see cref="SpectralNorm"/>). Bounding the Lipschitz constant of every layer keeps the
/// encoder's outputs from changing abruptly with its input, which the paper found essential for stable training
/// of deep hierarchical VAEs. The u, v buffers are registered here, so they travel with the model's state dict.
/// </summary>
public sealed class SpectralRegularizer : nn.Module
{
    readonly ModuleList<SpectralNorm> norms;
    readonly Conv2d[] convs;

    /// <summary>Covers every Conv2d in <paramref name="layers"/> (as listed when the regulariser is built).</summary>
    public SpectralRegularizer(IEnumerable<Conv2d> layers, int initialIterations = 20, long seed = 1) : base(nameof(SpectralRegularizer))
    {
        convs = layers.ToArray();
        var g = new Generator((ulong)seed);
        norms = new ModuleList<SpectralNorm>(convs.Select(c => SpectralNorm.For(c.weight!, g)).ToArray());
        RegisterComponents();
        if (initialIterations > 0)
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            for (int i = 0; i < convs.Length; i++) norms[i].Sigma(convs[i].weight!, initialIterations);
        }
    }

    /// <summary>Every Conv2d in a module tree, the module itself included (TorchSharp's modules() lists only
    /// descendants, and a ModuleList not yet registered in a parent lists none).</summary>
    public static IEnumerable<Conv2d> ConvLayers(nn.Module model) =>
        (model is Conv2d self ? new[] { self } : Enumerable.Empty<Conv2d>()).Concat(model.modules().OfType<Conv2d>()).Distinct();

    public int Count => convs.Length;

    /// <summary>Σ_i s_i (differentiable), after <paramref name="iterations"/> power-iteration steps per layer.</summary>
    public Tensor SumOfSigmas(int iterations = 1)
    {
        using var scope = NewDisposeScope();
        var s = stack(convs.Select((c, i) => norms[i].Sigma(c.weight!, iterations)).ToArray()).sum();
        return s.MoveToOuterDisposeScope();
    }

    /// <summary>The current estimate of each layer's largest singular value (no gradient).</summary>
    public double[] Sigmas()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return convs.Select((c, i) => (double)norms[i].Sigma(c.weight!, 0).item<float>()).ToArray();
    }
}
