using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

public class Wasserstein1DTests
{
    [Fact]
    public void AShiftByCGivesC()
    {
        var rng = new Random(1);
        var a = Enumerable.Range(0, 300).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        Assert.Equal(0.7, Wasserstein1D.Distance(a, a.Select(v => v + 0.7).ToArray()), 12);
        Assert.Equal(0.7, Wasserstein1D.Distance(a.Select(v => v + 0.7).ToArray(), a), 12);
        Assert.Equal(0.0, Wasserstein1D.Distance(a, a.Reverse().ToArray()), 12);
    }

    [Fact]
    public void SmallCasesMatchTheIntegralOfTheCdfDifference()
    {
        Assert.Equal(1.0, Wasserstein1D.Distance(new[] { 0.0 }, new[] { 1.0 }), 12);
        Assert.Equal(0.5, Wasserstein1D.Distance(new[] { 0.0, 1.0 }, new[] { 0.0 }), 12);
        // Unequal sizes: ∫|F_a − F_b| = 0.25·1 + 0·1 + 0.25·1.
        Assert.Equal(0.5, Wasserstein1D.Distance(new[] { 0.0, 1, 2, 3 }, new[] { 0.0, 2 }), 12);
    }

    [Fact]
    public void UniformOnZeroOneAgainstUniformOnZeroTwoIsOneHalf()
    {
        // Quantile form: ∫₀¹ |u − 2u| du = 1/2; an evenly spaced grid stands in for each distribution.
        var a = Enumerable.Range(0, 1000).Select(i => (i + 0.5) / 1000).ToArray();
        var b = Enumerable.Range(0, 700).Select(i => 2 * (i + 0.5) / 700).ToArray();
        Assert.Equal(0.5, Wasserstein1D.Distance(a, b), 3);
    }

    [Fact]
    public void PerColumnMeasuresEachColumnOnItsOwn()
    {
        using var scope = NewDisposeScope();
        var g = new Generator().manual_seed(3);
        var real = rand(new long[] { 500, 3 }, ScalarType.Float64, generator: g);
        var fake = real[TensorIndex.Slice(0, 250)] + tensor(new[] { 0.0, 0.25, -2.0 });
        var w = Wasserstein1D.PerColumn(real[TensorIndex.Slice(0, 250)], fake);
        Assert.Equal(new[] { 0.0, 0.25, 2.0 }, w.Select(v => Math.Round(v, 10)).ToArray());
    }
}
