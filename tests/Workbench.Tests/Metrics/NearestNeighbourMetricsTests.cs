using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

/// <summary>Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020) on toy point sets.</summary>
public class NearestNeighbourMetricsTests
{
    static Tensor Blobs(IEnumerable<(double X, double Y)> centres, int perBlob, double spread, long seed)
    {
        var g = new Generator().manual_seed(seed);
        var parts = centres.Select(c => randn(new long[] { perBlob, 2 }, ScalarType.Float64, generator: g) * spread + tensor(new[] { c.X, c.Y })).ToList();
        return cat(parts, 0);
    }

    static readonly (double, double)[] FourModes = { (0, 0), (20, 0), (0, 20), (20, 20) };

    [Fact]
    public void KthDistanceSkipsThePointItself()
    {
        using var scope = NewDisposeScope();
        var p = tensor(new double[,] { { 0, 0 }, { 1, 0 }, { 3, 0 }, { 7, 0 } });
        Assert.Equal(new[] { 1.0, 1, 2, 4 }, NearestNeighbours.KthDistances(p, 1).data<double>().ToArray());
        Assert.Equal(new[] { 3.0, 2, 3, 6 }, NearestNeighbours.KthDistances(p, 2).data<double>().ToArray());
    }

    [Fact]
    public void IdenticalSetsHavePerfectPrecisionRecallCoverageAndDensityKPlusOneOverK()
    {
        using var scope = NewDisposeScope();
        var x = Blobs(FourModes, 50, 1.0, 1);
        var (p, r) = PrecisionRecall.Compute(x, x.clone());
        var (density, coverage) = DensityCoverage.Compute(x, x.clone());
        Assert.Equal(1.0, p);
        Assert.Equal(1.0, r);
        Assert.Equal(1.0, coverage);
        // Each real ball holds its centre and exactly its k nearest neighbours (no ties in continuous data).
        Assert.Equal(6.0 / 5.0, density, 12);
    }

    [Fact]
    public void TwoSamplesOfOneDistributionHaveDensityNearOne()
    {
        using var scope = NewDisposeScope();
        var real = Blobs(new[] { (0.0, 0.0) }, 2000, 1.0, 2);
        var fake = Blobs(new[] { (0.0, 0.0) }, 2000, 1.0, 3);
        var (density, coverage) = DensityCoverage.Compute(real, fake);
        Assert.InRange(density, 0.9, 1.1);
        Assert.True(coverage > 0.9, $"coverage {coverage}");
    }

    [Fact]
    public void DisjointFarSetsScoreZero()
    {
        using var scope = NewDisposeScope();
        var real = Blobs(FourModes, 30, 1.0, 4);
        var fake = Blobs(FourModes, 30, 1.0, 5) + 1000;
        var (p, r) = PrecisionRecall.Compute(real, fake);
        var (density, coverage) = DensityCoverage.Compute(real, fake);
        Assert.Equal(new[] { 0.0, 0, 0, 0 }, new[] { p, r, density, coverage });
    }

    [Fact]
    public void AGeneratorThatDrawsHalfTheModesHasFullPrecisionAndHalfRecallAndCoverage()
    {
        using var scope = NewDisposeScope();
        var real = Blobs(FourModes, 200, 1.0, 6);
        var fake = Blobs(FourModes.Take(2), 400, 1.0, 7);
        var (p, r) = PrecisionRecall.Compute(real, fake);
        var (_, coverage) = DensityCoverage.Compute(real, fake);
        Assert.True(p > 0.95, $"precision {p}");
        Assert.InRange(r, 0.45, 0.5);
        Assert.InRange(coverage, 0.45, 0.5);
    }

    [Fact]
    public void AGeneratorThatDrawsOffTheManifoldHasLowPrecisionButFullRecall()
    {
        // Half the fake samples on the real modes, half far away: precision ≈ 0.5, recall ≈ 1.
        using var scope = NewDisposeScope();
        var real = Blobs(FourModes, 100, 1.0, 8);
        var fake = cat(new[] { Blobs(FourModes, 100, 1.0, 9), Blobs(FourModes, 100, 1.0, 10) + 500 }, 0);
        var (p, r) = PrecisionRecall.Compute(real, fake);
        Assert.InRange(p, 0.45, 0.5);
        Assert.True(r > 0.95, $"recall {r}");
    }
}
