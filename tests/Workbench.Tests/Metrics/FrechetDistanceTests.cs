using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

public class FrechetDistanceTests
{
    static Tensor Correlated(long n, int d, long seed)
    {
        var g = new Generator().manual_seed(seed);
        var mix = randn(new long[] { d, d }, ScalarType.Float64, generator: g);
        return randn(new long[] { n, d }, ScalarType.Float64, generator: g).matmul(mix) + 3;
    }

    [Fact]
    public void ASetAgainstItselfIsZero()
    {
        using var scope = NewDisposeScope();
        var f = Correlated(400, 24, 1);
        Assert.InRange(FrechetDistance.Compute(f, f), -1e-8, 1e-8);
    }

    [Fact]
    public void TwoDiagonalGaussiansGiveMeanTermPlusSquaredRootDifferences()
    {
        // Commuting covariances: d² = ‖μ₁ − μ₂‖² + Σᵢ (√aᵢ − √bᵢ)².
        using var scope = NewDisposeScope();
        double[] a = { 1, 4, 0.25, 9 }, b = { 4, 1, 1, 0.01 };
        var mu1 = tensor(new double[] { 0, 1, 2, 3 });
        var mu2 = tensor(new double[] { 1, 1, 0, 3 });
        double expected = 1 + 4 + a.Zip(b, (x, y) => Math.Pow(Math.Sqrt(x) - Math.Sqrt(y), 2)).Sum();
        Assert.Equal(expected, FrechetDistance.Compute(mu1, diag(tensor(a)), mu2, diag(tensor(b))), 10);
    }

    [Fact]
    public void TwoNonCommutingGaussiansMatchTheTwoByTwoClosedForm()
    {
        // For 2×2 M with non-negative eigenvalues, Tr √M = √(Tr M + 2 √det M); with M = Σ₁Σ₂ this gives the Fréchet
        // distance in closed form without any matrix square root. Σ₁ and Σ₂ do not commute, so Tr(√Σ₁ √Σ₂) is wrong here.
        using var scope = NewDisposeScope();
        var s1 = tensor(new double[,] { { 2.0, 0.9 }, { 0.9, 1.0 } });
        var s2 = tensor(new double[,] { { 0.5, -0.3 }, { -0.3, 3.0 } });
        var mu1 = tensor(new double[] { 0.5, -1 });
        var mu2 = tensor(new double[] { -0.5, 1 });
        var prod = s1.matmul(s2);
        double trSqrt = Math.Sqrt(prod.trace().item<double>() + 2 * Math.Sqrt(linalg.det(prod).item<double>()));
        double expected = 1 + 4 + s1.trace().item<double>() + s2.trace().item<double>() - 2 * trSqrt;
        Assert.Equal(expected, FrechetDistance.Compute(mu1, s1, mu2, s2), 10);
    }

    [Fact]
    public void SampleStatisticsAreTheUnbiasedMeanAndCovariance()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[,] { { 1, 2 }, { 3, 6 }, { 5, 4 } });
        var (mean, cov) = FrechetDistance.Statistics(x);
        Assert.Equal(new[] { 3.0, 4.0 }, mean.data<double>().ToArray());
        // numpy.cov(x, rowvar=False): [[4, 2], [2, 4]].
        Assert.Equal(new[] { 4.0, 2.0, 2.0, 4.0 }, cov.data<double>().ToArray());
    }

    /// <summary>n samples whose sample mean and (unbiased) covariance are exactly μ and Σ: whitened, then coloured.</summary>
    static Tensor WithMoments(long n, Tensor mu, Tensor sigma, long seed)
    {
        var z = randn(new long[] { n, mu.shape[0] }, ScalarType.Float64, generator: new Generator().manual_seed(seed));
        z = z - z.mean(new long[] { 0 });
        var c = z.t().matmul(z) / (n - 1);
        var white = linalg.solve_triangular(linalg.cholesky(c), z.t(), upper: false).t();
        return white.matmul(linalg.cholesky(sigma).t()) + mu;
    }

    [Fact]
    public void FeatureSetsWithKnownMomentsGiveTheClosedForm()
    {
        // Σ₁ = diag(1, 4), Σ₂ = diag(9, 1), μ₂ − μ₁ = (1, 0): 1 + (1 − 3)² + (2 − 1)² = 6.
        using var scope = NewDisposeScope();
        var a = WithMoments(500, tensor(new double[] { 0, 0 }), diag(tensor(new double[] { 1, 4 })), 7);
        var b = WithMoments(300, tensor(new double[] { 1, 0 }), diag(tensor(new double[] { 9, 1 })), 8);
        Assert.Equal(6.0, FrechetDistance.Compute(a, b), 9);
    }
}
