using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// The exact marginal q(x_t) = ∫ q(x_t | x_0) p(x_0) dx_0 of the forward process (Ho et al. 2020, Eq. 4) when the
/// data are an equal-weight mixture of isotropic Gaussians N(c_k, s² I) (the 2-D toy <c>8gaussians</c>): again a
/// mixture, of N(√ᾱ c_k, (ᾱ s² + 1 − ᾱ) I). Its log-density and score ∇_x log q(x_t) = Σ_k r_k(x)(√ᾱ c_k − x)/v
/// (r_k the components' responsibilities, v the variance) are closed form — the reference for a learned score field
/// (<see cref="ScoreFunction"/>). Computed in float64, returned in the input's dtype.
/// </summary>
public sealed class DiffusedGaussianMixture
{
    readonly double[,] _centres;

    /// <param name="centres">the data components' means [K, D].</param>
    /// <param name="std">their common standard deviation s.</param>
    public DiffusedGaussianMixture(Tensor centres, double std)
    {
        if (centres.dim() != 2) throw new ArgumentException("centres must be [K, D]", nameof(centres));
        var c = centres.to(ScalarType.Float64).cpu();
        _centres = new double[c.shape[0], c.shape[1]];
        var flat = c.data<double>().ToArray();
        for (int k = 0; k < c.shape[0]; k++)
            for (int d = 0; d < c.shape[1]; d++)
                _centres[k, d] = flat[k * c.shape[1] + d];
        Std = std;
    }

    /// <summary>The data's standard deviation s per component.</summary>
    public double Std { get; }

    /// <summary>The mixture of the 2-D toy <c>8gaussians</c> (<see cref="Data.Toy2D.EightGaussians"/>).</summary>
    public static DiffusedGaussianMixture For(Data.Toy2D.EightGaussians toy)
    {
        using var c = toy.Centres();
        return new DiffusedGaussianMixture(c, toy.Std);
    }

    Tensor Centres(Tensor like)
    {
        int k = _centres.GetLength(0), d = _centres.GetLength(1);
        var flat = new double[k * d];
        Buffer.BlockCopy(_centres, 0, flat, 0, flat.Length * sizeof(double));
        return tensor(flat, new long[] { k, d }, dtype: ScalarType.Float64).to(like.device);
    }

    /// <summary>log q(x_t) for points x [n, D] at a noise level ᾱ (1: the data density), [n].</summary>
    public Tensor LogDensity(Tensor x, double alphaBar)
    {
        using var scope = NewDisposeScope();
        var (logComp, _, _) = Components(x.to(ScalarType.Float64), alphaBar);
        return (logComp.logsumexp(1) - Math.Log(logComp.shape[1])).to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The exact score ∇_x log q(x_t) for points x [n, D] at a noise level ᾱ, [n, D].</summary>
    public Tensor Score(Tensor x, double alphaBar)
    {
        using var scope = NewDisposeScope();
        var x64 = x.to(ScalarType.Float64);
        var (logComp, means, variance) = Components(x64, alphaBar);
        var r = softmax(logComp, 1);                                         // [n, K]
        var diff = means.unsqueeze(0) - x64.unsqueeze(1);                    // [n, K, D]
        return ((r.unsqueeze(2) * diff).sum(new long[] { 1 }) / variance).to(x.dtype).MoveToOuterDisposeScope();
    }

    (Tensor LogComponents, Tensor Means, double Variance) Components(Tensor x64, double alphaBar)
    {
        double v = alphaBar * Std * Std + 1 - alphaBar;
        var means = Centres(x64) * Math.Sqrt(alphaBar);                      // [K, D]
        var d2 = (x64.unsqueeze(1) - means.unsqueeze(0)).square().sum(new long[] { 2 });   // [n, K]
        long dim = x64.shape[1];
        var logComp = -0.5 * d2 / v - 0.5 * dim * Math.Log(2 * Math.PI * v);
        return (logComp, means, v);
    }
}
