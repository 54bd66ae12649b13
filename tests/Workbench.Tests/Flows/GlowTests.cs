using TorchSharp;
using Workbench.Flows;
using Workbench.Metrics;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

public class GlowTests
{
    static Glow Tiny(GlowConfig? cfg = null, long c = 2, long h = 4, long w = 4)
    {
        var model = new Glow(cfg ?? GlowConfig.Small with { Levels = 2, StepsPerLevel = 2, HiddenChannels = 8 }, c, h, w);
        model.to(float64);
        return model;
    }

    [Theory]
    [InlineData(Coupling.Affine, Permutation.Conv1x1LU)]
    [InlineData(Coupling.Affine, Permutation.Conv1x1)]
    [InlineData(Coupling.Additive, Permutation.Shuffle)]
    public void WholeGlowInvertsAndItsLogDensityMatchesTheBruteForceJacobian(Coupling coupling, Permutation permutation)
    {
        Seeding.Set(4);
        using var scope = NewDisposeScope();
        var model = Tiny(GlowConfig.Small with { Levels = 2, StepsPerLevel = 2, HiddenChannels = 8, Coupling = coupling, Permutation = permutation });
        var x = rand(3, 2, 4, 4, dtype: float64) - 0.5;
        model.LogDensity(x); // ActNorm data-dependent init
        Perturb(model, 0.1);
        var z = model.Encode(x);
        Assert.Equal(new long[] { 3, 32 }, z.shape);
        var back = model.Decode(z);
        Assert.True((back - x).abs().max().item<double>() < 1e-5, "decode(encode(x)) != x");
        var logp = model.LogDensity(x);
        for (long b = 0; b < 3; b++)
        {
            var jac = Jacobian(v => model.Encode(v), x[b].unsqueeze(0));
            double expected = LogAbsDet(jac) + BitsPerDim.StandardNormalLogDensity(z[b].unsqueeze(0)).item<double>();
            Assert.True(Math.Abs(expected - logp[b].item<double>()) < 1e-5,
                $"log p(x) = {logp[b].item<double>()} but log N(z) + log|det J| = {expected}");
        }
    }

    [Fact]
    public void IdentityFlowWithStandardNormalPriorGivesTheClosedFormBitsPerDim()
    {
        // NICE parts without ActNorm at initialisation: additive couplings (zero-initialised: identity), channel
        // reversals and squeezes (permutations), zero-initialised split priors and a fixed N(0, I) top: the model is
        // N(0, I) in data space, so bpd = log2(n_bins) + (0.5 log(2π) + mean(x²)/2) / ln 2 per example.
        Seeding.Set(5);
        using var scope = NewDisposeScope();
        var model = Tiny(GlowConfig.Nice with { Levels = 2, StepsPerLevel = 2, HiddenChannels = 8, ActNorm = false, NBits = 5 });
        var x = randn(4, 2, 4, 4, dtype: float64);
        var bpd = model.BitsPerDim(x);
        var xs = x.flatten(1);
        for (int b = 0; b < 4; b++)
        {
            double meanSq = (xs[b] * xs[b]).mean().item<double>();
            double closed = 5 + (0.5 * Math.Log(2 * Math.PI) + meanSq / 2) / Math.Log(2);
            Assert.Equal(closed, bpd[b].item<double>(), 9);
        }
        Assert.Equal(5 + 0.5 * Math.Log2(2 * Math.PI), BitsPerDim.FromLogProb(
            BitsPerDim.DiscreteCorrection(10, 5) - 10 * 0.5 * Math.Log(2 * Math.PI), 10), 12);
    }

    [Fact]
    public void SampleAtTemperatureZeroIsTheDecodedMeanAndSamplesHaveTheDataShape()
    {
        Seeding.Set(6);
        using var scope = NewDisposeScope();
        var model = Tiny();
        model.LogDensity(rand(4, 2, 4, 4, dtype: float64) - 0.5);
        Perturb(model, 0.1);
        var s0 = model.Sample(2, 0.0);
        Assert.Equal(new long[] { 2, 2, 4, 4 }, s0.shape);
        Assert.True((s0[0] - s0[1]).abs().max().item<double>() < 1e-12, "temperature 0 must be deterministic");
        Assert.True((s0 - model.Decode(zeros(1, 32, dtype: float64))).abs().max().item<double>() < 1e-12);
        var s1 = model.Sample(2, 1.0);
        Assert.True((s1[0] - s1[1]).abs().max().item<double>() > 1e-3);
        // Encoding a temperature-T sample gives back noise of std T.
        var z = model.Encode(model.Sample(200, 0.5));
        Assert.InRange(z.std().item<double>(), 0.45, 0.55);
    }

    [Fact]
    public void FashionMnistSizedSmallGlowHasAbout150kParametersAndRejectsBadShapes()
    {
        using var scope = NewDisposeScope();
        var model = new Glow(GlowConfig.Small, 1, 28, 28);
        Assert.InRange(model.ParameterCount, 140_000, 170_000);
        Assert.Equal(new[] { 2L, 14, 14 }, model.LatentShapes[0]);
        Assert.Equal(new[] { 8L, 7, 7 }, model.LatentShapes[1]);
        var ex = Assert.Throws<ArgumentException>(() => new Glow(GlowConfig.Small with { Levels = 3 }, 1, 28, 28));
        Assert.Contains("multiples of 8", ex.Message);
        Assert.Throws<ArgumentException>(() => model.LogProb(zeros(1, 3, 28, 28)));
    }
}
