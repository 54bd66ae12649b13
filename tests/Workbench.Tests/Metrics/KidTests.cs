using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

public class KidTests
{
    static Tensor Gaussian(long n, int d, long seed, double shift = 0)
    {
        var g = new Generator().manual_seed(seed);
        return randn(new long[] { n, d }, ScalarType.Float64, generator: g) + shift;
    }

    [Fact]
    public void TheKernelIsTheCubicPolynomial()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[,] { { 1, 2 } });
        var y = tensor(new double[,] { { 3, -1 }, { 0, 0 } });
        // (x·y/2 + 1)³: x·y = 1 → 1.5³; x·0 = 0 → 1.
        Assert.Equal(new[] { 3.375, 1.0 }, Kid.PolynomialKernel(x, y).data<double>().ToArray());
    }

    [Fact]
    public void MeanIsNearZeroForTwoSamplesOfOneDistributionAndPositiveForShiftedOnes()
    {
        using var scope = NewDisposeScope();
        var x = Gaussian(400, 32, 1);
        var same = Gaussian(400, 32, 2);
        var shifted = Gaussian(400, 32, 3, shift: 0.5);
        var (m0, s0) = Kid.Compute(x, same, subsets: 50, subsetSize: 50, seed: 0);
        var (m1, _) = Kid.Compute(x, shifted, subsets: 50, subsetSize: 50, seed: 0);
        Assert.True(s0 > 0, "subsets of 50 out of 400 differ, so the estimates should spread");
        Assert.InRange(m0, -0.02, 0.02);
        Assert.True(m1 > 0.1, $"KID of shifted Gaussians {m1} should be clearly positive");
    }

    [Fact]
    public void TheBiasedEstimatorFailsTheSameNearZeroCheck()
    {
        // What the check above guards against: MMD²_b keeps the k(x, x) terms and is biased upward by
        // ~2(E k(x,x) − E k(x,y))/m at this size, so it does not stay within ±0.02 for two samples of one distribution.
        using var scope = NewDisposeScope();
        var rng = new Random(0);
        var x = Gaussian(400, 32, 1);
        var y = Gaussian(400, 32, 2);
        double biased = 0, unbiased = 0;
        for (int s = 0; s < 50; s++)
        {
            var ix = tensor(Enumerable.Range(0, 400).OrderBy(_ => rng.Next()).Take(50).Select(i => (long)i).ToArray());
            var iy = tensor(Enumerable.Range(0, 400).OrderBy(_ => rng.Next()).Take(50).Select(i => (long)i).ToArray());
            biased += Kid.Mmd2Biased(x.index_select(0, ix), y.index_select(0, iy)) / 50;
            unbiased += Kid.Mmd2Unbiased(x.index_select(0, ix), y.index_select(0, iy)) / 50;
        }
        Assert.True(biased > 0.1, $"biased MMD² {biased}");
        Assert.InRange(unbiased, -0.02, 0.02);
    }

    [Fact]
    public void TheUnbiasedEstimateIsTheUStatistic()
    {
        // Brute force over pairs on a tiny set.
        using var scope = NewDisposeScope();
        var x = Gaussian(5, 3, 4);
        var y = Gaussian(4, 3, 5, shift: 1);
        double K(Tensor a, Tensor b) => Math.Pow(a.dot(b).item<double>() / 3 + 1, 3);
        double sxx = 0, syy = 0, sxy = 0;
        for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) if (i != j) sxx += K(x[i], x[j]);
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) if (i != j) syy += K(y[i], y[j]);
        for (int i = 0; i < 5; i++) for (int j = 0; j < 4; j++) sxy += K(x[i], y[j]);
        double expected = sxx / 20 + syy / 12 - 2 * sxy / 20;
        Assert.Equal(expected, Kid.Mmd2Unbiased(x, y), 9);
    }
}
