using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// Largest singular value of a weight by power iteration (Miyato et al. 2018), with the vectors u and v kept as
/// buffers across calls so one iteration per training step suffices once they have converged. The weight is
/// viewed as a matrix [out, rest] (a conv kernel [O, I, k, k] becomes [O, I·k·k]). The returned σ = uᵀ W v is
/// differentiable in W (u, v are treated as constants; copies of them enter the graph, so several calls may share one
/// backward), which is what NVAE's spectral regularisation needs
/// (Vahdat &amp; Kautz 2020, Section 3.1).
/// </summary>
public sealed class SpectralNorm : nn.Module
{
    readonly Tensor u;
    readonly Tensor v;

    /// <param name="outFeatures">rows of the matrix view (the weight's first dimension)</param>
    /// <param name="inFeatures">columns (the product of the remaining dimensions)</param>
    /// <param name="generator">optional generator for the random starting vectors</param>
    public SpectralNorm(long outFeatures, long inFeatures, Generator? generator = null) : base(nameof(SpectralNorm))
    {
        using (no_grad())
        {
            u = nn.functional.normalize(randn(new[] { outFeatures }, generator: generator), dim: 0);
            v = nn.functional.normalize(randn(new[] { inFeatures }, generator: generator), dim: 0);
        }
        register_buffer("u", u);
        register_buffer("v", v);
    }

    /// <summary>Builds the helper for a weight of any shape [out, …].</summary>
    public static SpectralNorm For(Tensor weight, Generator? generator = null)
    {
        long rows = weight.shape[0];
        return new SpectralNorm(rows, weight.numel() / rows, generator);
    }

    public Tensor U => u;
    public Tensor V => v;

    /// <summary>
    /// Runs <paramref name="iterations"/> power-iteration steps (in place on the buffers, without gradients),
    /// then returns σ ≈ uᵀ W v as a scalar tensor with gradient to <paramref name="weight"/>.
    /// </summary>
    public Tensor Sigma(Tensor weight, int iterations = 1)
    {
        var w = weight.reshape(weight.shape[0], -1);
        if (w.shape[0] != u.shape[0] || w.shape[1] != v.shape[0])
            throw new ArgumentException($"SpectralNorm was built for a [{u.shape[0]}, {v.shape[0]}] matrix, got weight {Shapes.Of(weight)}");
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            var wd = w.detach().to(u.device);
            for (int i = 0; i < iterations; i++)
            {
                var vn = nn.functional.normalize(matmul(wd.t(), u), dim: 0, eps: 1e-12);
                var un = nn.functional.normalize(matmul(wd, vn), dim: 0, eps: 1e-12);
                v.copy_(vn);
                u.copy_(un);
            }
        }
        // copies of u and v enter the graph: a second call before backward (D on reals, then on fakes) updates the
        // buffers in place, which must not change what the first call's backward reads
        return dot(u.clone(), matmul(w, v.clone()));
    }
}
