using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

public class Toy2DTests
{
    /// <summary>Midpoints of a grid with spacing h over [-l, l]², as [m, 2].</summary>
    static Tensor Grid(double l, double h)
    {
        var axis = arange(-l + h / 2, l, h, dtype: ScalarType.Float64);
        var g = meshgrid(new[] { axis, axis }, indexing: "ij");
        return stack(new[] { g[0].flatten(), g[1].flatten() }, 1).to(ScalarType.Float32);
    }

    [Fact]
    public void EveryToySamplesFloat32PairsDeterminedByTheSeed()
    {
        foreach (var name in Toy2D.Names)
        {
            var toy = Toy2D.Create(name);
            using var a = toy.Sample(500, seed: 5);
            using var b = toy.Sample(500, seed: 5);
            using var c = toy.Sample(500, seed: 6);
            Assert.Equal(new long[] { 500, 2 }, a.shape);
            Assert.Equal(ScalarType.Float32, a.dtype);
            Assert.True(a.eq(b).all().item<bool>(), name);
            Assert.False(a.eq(c).all().item<bool>(), name);
            Assert.True(a.isfinite().all().item<bool>(), name);
        }
    }

    [Fact]
    public void EightGaussiansSampleStatistics()
    {
        var toy = new Toy2D.EightGaussians();
        using var x = toy.Sample(200_000, seed: 1);
        Assert.InRange(x.mean(new long[] { 0 }).abs().max().item<float>(), 0, 0.01);
        // E|x|² = R² + 2σ² for centres on a circle of radius R.
        double r2 = x.pow(2).sum(1).mean().item<float>();
        Assert.InRange(r2 / (toy.Radius * toy.Radius + 2 * toy.Std * toy.Std), 0.99, 1.01);
        // every point within 6σ of its nearest centre, and each mode holds 1/8 of the points
        using var d = cdist(x, toy.Centres());
        var (nearest, which) = d.min(1);
        Assert.True(nearest.max().item<float>() < 6 * toy.Std);
        var counts = bincount(which, minlength: 8).data<long>().ToArray();
        Assert.All(counts, c => Assert.InRange(c / 200_000.0, 0.12, 0.13));
    }

    [Fact]
    public void MoonsAndSpiralsSampleStatistics()
    {
        using var moons = new Toy2D.TwoMoons().Sample(200_000, seed: 2);
        var m = moons.mean(new long[] { 0 }).data<float>().ToArray();
        Assert.InRange(m[0], -0.02, 0.02); // x has std ≈ 1.7: 5 standard errors
        Assert.InRange(m[1], 0.29, 0.31); // 2 * (1/2, 1/4) + (-1, -0.2)

        var spirals = new Toy2D.Spirals();
        using var s = spirals.Sample(200_000, seed: 3);
        Assert.InRange(s.mean(new long[] { 0 }).abs().max().item<float>(), 0, 0.02);
        double r2 = s.pow(2).sum(1).mean().item<float>();
        Assert.InRange(r2 / (Math.PI * Math.PI / 2 + 2 * spirals.Noise * spirals.Noise), 0.99, 1.01);
    }

    [Fact]
    public void CheckerboardSamplesFallOnItsSquaresEvenly()
    {
        var toy = new Toy2D.Checkerboard();
        using var x = toy.Sample(80_000, seed: 4);
        using var lp = toy.LogDensity(x);
        Assert.True(lp.isfinite().all().item<bool>()); // density > 0 at every sample
        Assert.True(lp.eq((float)-Math.Log(32)).all().item<bool>());
        using var cell = floor((x + 4) / 2).to(ScalarType.Int64);
        var counts = bincount(cell[.., 0] * 4 + cell[.., 1], minlength: 16).data<long>().ToArray();
        for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
        {
            if ((i + j) % 2 == 0) Assert.InRange(counts[i * 4 + j] / 80_000.0, 0.12, 0.13);
            else Assert.Equal(0, counts[i * 4 + j]);
        }
        Assert.True(float.IsNegativeInfinity(toy.LogDensity(tensor(new float[] { 1f, -1f }, new long[] { 1, 2 })).item<float>()));
    }

    [Fact]
    public void CheckerboardDensityIntegratesToOne()
    {
        const double h = 0.01;
        using var g = Grid(5, h);
        double integral = new Toy2D.Checkerboard().LogDensity(g).exp().to(ScalarType.Float64).sum().item<double>() * h * h;
        Assert.InRange(integral, 0.99, 1.01);
    }

    [Fact]
    public void EightGaussiansDensityIntegratesToOneAndItsEntropyMatchesTheGrid()
    {
        var toy = new Toy2D.EightGaussians();
        const double h = 0.02;
        using var g = Grid(5, h);
        using var lp = toy.LogDensity(g).to(ScalarType.Float64);
        using var p = lp.exp();
        double integral = p.sum().item<double>() * h * h;
        Assert.InRange(integral, 0.999, 1.001);

        // H = -∫ p log p on the grid, an estimate independent of the Monte-Carlo one
        double gridEntropy = -(p * lp).sum().item<double>() * h * h;
        double mc = toy.Entropy!.Value, se = toy.EntropyStandardError!.Value;
        Assert.InRange(se, 1e-4, 3e-3);
        Assert.InRange(mc - gridEntropy, -4 * se - 1e-3, 4 * se + 1e-3);
        // a fresh, smaller Monte-Carlo run agrees with the stored estimate within their joint standard error
        var (fresh, freshSe) = toy.EstimateEntropy(100_000, seed: 7);
        Assert.InRange(fresh - mc, -4 * Math.Sqrt(se * se + freshSe * freshSe), 4 * Math.Sqrt(se * se + freshSe * freshSe));
        // the modes barely overlap, so H is close to log 8 + the entropy of one 2-D Gaussian, 1 + log(2πσ²)
        Assert.InRange(mc - (Math.Log(8) + 1 + Math.Log(2 * Math.PI * toy.Std * toy.Std)), -0.01, 0.01);
    }

    [Fact]
    public void CheckerboardEntropyIsExact()
    {
        var toy = new Toy2D.Checkerboard();
        Assert.Equal(Math.Log(32), toy.Entropy);
        Assert.Equal(0, toy.EntropyStandardError);
    }

    [Fact]
    public void MoonsAndSpiralsSayTheyHaveNoDensity()
    {
        foreach (var toy in new Toy2D[] { new Toy2D.TwoMoons(), new Toy2D.Spirals() })
        {
            Assert.False(toy.HasExactDensity);
            Assert.Null(toy.Entropy);
            using var x = zeros(3, 2);
            var e = Assert.Throws<NotSupportedException>(() => toy.LogDensity(x));
            Assert.Contains(toy.Name, e.Message);
        }
        Assert.Throws<ArgumentException>(() => Toy2D.Create("swissroll"));
        Assert.Throws<ArgumentException>(() => new Toy2D.EightGaussians().LogDensity(zeros(3, 3)));
    }
}
