using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Metrics;

/// <summary>
/// The Fréchet distance between two Gaussians fitted to two sets of features (Heusel et al. 2017, "GANs Trained by a
/// Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", the definition of the Fréchet Inception Distance;
/// the closed form for two Gaussians is Dowson &amp; Landau 1982):
/// <code>d²((μ₁, Σ₁), (μ₂, Σ₂)) = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)</code>
/// All arithmetic is float64. Tr (Σ₁Σ₂)^½ is computed in the symmetric form Tr (Σ₁^½ Σ₂ Σ₁^½)^½ (the two matrices have
/// the same eigenvalues): Σ₁^½ from the eigen-decomposition of Σ₁, then the eigenvalues of the symmetric product, with
/// round-off negatives clamped to 0. This needs no general (non-symmetric) matrix square root, which is what makes
/// scipy's sqrtm in the reference code return complex values on near-singular covariances.
/// On ResNet-18 features the result is reported as "FD on ResNet-18 features" (<see cref="ResNet18Features"/>), not FID.
/// </summary>
public static class FrechetDistance
{
    /// <summary>Mean [D] and covariance [D, D] (unbiased, divided by N − 1, as numpy.cov) of features [N, D], in float64.</summary>
    public static (Tensor Mean, Tensor Covariance) Statistics(Tensor features)
    {
        if (features.dim() != 2 || features.shape[0] < 2)
            throw new ArgumentException($"FrechetDistance: need features [N ≥ 2, D], got {Shapes.Of(features)}");
        using var scope = NewDisposeScope();
        var x = features.to(ScalarType.Float64);
        var mean = x.mean(new long[] { 0 });
        var centred = x - mean;
        var cov = centred.t().matmul(centred) / (x.shape[0] - 1);
        return (mean.MoveToOuterDisposeScope(), cov.MoveToOuterDisposeScope());
    }

    /// <summary>Symmetric positive semi-definite square root of a symmetric matrix (eigenvalues below 0 clamped to 0).</summary>
    public static Tensor SqrtPsd(Tensor symmetric)
    {
        using var scope = NewDisposeScope();
        var s = symmetric.to(ScalarType.Float64);
        var (values, vectors) = linalg.eigh((s + s.t()) / 2);
        var root = vectors.matmul(diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
        return root.MoveToOuterDisposeScope();
    }

    /// <summary>Tr (Σ₁ Σ₂)^½ for two covariance matrices, as Tr (Σ₁^½ Σ₂ Σ₁^½)^½.</summary>
    public static double TraceSqrtProduct(Tensor sigma1, Tensor sigma2)
    {
        using var scope = NewDisposeScope();
        var r = SqrtPsd(sigma1);
        var m = r.matmul(sigma2.to(ScalarType.Float64)).matmul(r);
        var eig = linalg.eigvalsh((m + m.t()) / 2);
        return eig.clamp_min(0).sqrt().sum().item<double>();
    }

    /// <summary>The Fréchet distance (squared, as in the paper) between N(μ₁, Σ₁) and N(μ₂, Σ₂).</summary>
    public static double Compute(Tensor mu1, Tensor sigma1, Tensor mu2, Tensor sigma2)
    {
        if (!mu1.shape.SequenceEqual(mu2.shape) || !sigma1.shape.SequenceEqual(sigma2.shape))
            throw new ArgumentException("FrechetDistance: the two Gaussians have different dimensions");
        using var scope = NewDisposeScope();
        var (m1, m2) = (mu1.to(ScalarType.Float64), mu2.to(ScalarType.Float64));
        var (s1, s2) = (sigma1.to(ScalarType.Float64), sigma2.to(ScalarType.Float64));
        double meanTerm = (m1 - m2).square().sum().item<double>();
        double traces = s1.trace().item<double>() + s2.trace().item<double>();
        return meanTerm + traces - 2 * TraceSqrtProduct(s1, s2);
    }

    /// <summary>The Fréchet distance between Gaussians fitted to features [N, D] and [M, D].</summary>
    public static double Compute(Tensor features1, Tensor features2)
    {
        var (m1, s1) = Statistics(features1);
        var (m2, s2) = Statistics(features2);
        using (m1) using (s1) using (m2) using (s2)
            return Compute(m1, s1, m2, s2);
    }
}
