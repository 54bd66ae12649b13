using Workbench.Data;
using Workbench.Diffusion;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Diffusion;

/// <summary>The score-based reading: s = −ε/σ_t, the exact score of a diffused mixture, Langevin dynamics.</summary>
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class ScoreTests
{
    /// <summary>The closed-form score of the diffused 8-Gaussians mixture equals autograd of its closed-form log-density,
    /// at several noise levels (float64, 1e-10), and at ᾱ = 1 the density is the toy's own.</summary>
    [Fact]
    public void ExactScoreOfTheDiffusedMixtureIsTheGradientOfItsLogDensity()
    {
        using var scope = NewDisposeScope();
        var toy = new Toy2D.EightGaussians();
        var mix = DiffusedGaussianMixture.For(toy);
        var x = (randn(new long[] { 64, 2 }, dtype: ScalarType.Float64, generator: new Generator(2)) * 2.5).requires_grad_(true);
        foreach (var ab in new[] { 1.0, 0.9, 0.5, 0.1, 0.001 })
        {
            var grad = autograd.grad(new[] { mix.LogDensity(x, ab).sum() }, new[] { x })[0];
            var score = mix.Score(x.detach(), ab);
            Assert.True((grad - score).abs().max().item<double>() < 1e-10, $"alpha-bar {ab}: score differs from autograd");
        }
        var pts = toy.Sample(100, 3L);
        Assert.True((mix.LogDensity(pts, 1.0) - toy.LogDensity(pts)).abs().max().item<float>() < 1e-4);
    }

    /// <summary>s_θ = −ε_θ/σ_t: for Gaussian data N(0, s²) the optimal noise predictor E[ε | x_t] = √(1−ᾱ) x/(ᾱ s² + 1 − ᾱ)
    /// read as a score is the exact score −x/(ᾱ s² + 1 − ᾱ) of q(x_t).</summary>
    [Fact]
    public void NoiseOverSigmaIsTheScoreOfTheDiffusedData()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 1000);
        const double s2 = 0.3;
        var x = randn(new long[] { 5, 2 }, dtype: ScalarType.Float64, generator: new Generator(1));
        foreach (int t in new[] { 0, 100, 500, 999 })
        {
            double ab = q.AlphaBars[t], v = ab * s2 + 1 - ab;
            var tt = ForwardProcess.Full(5, t, x);
            var score = ScoreFunction.FromNoise(q, (xx, _) => Math.Sqrt(1 - ab) * xx / v, x, tt);
            Assert.True((score + x / v).abs().max().item<double>() < 1e-12, $"t={t}");
        }
    }

    /// <summary>Langevin dynamics with the exact score of N(m, diag(s²)) samples it (Song &amp; Ermon 2019, Eq. 4): 10,000
    /// chains started far away, after 2,000 steps of δ = 0.02 (10 relaxation times of the wider axis), have its mean and
    /// variance (within 5%; the discretisation bias of the variance, ≈ δ/4, is 1% here).</summary>
    [Fact]
    public void LangevinDynamicsWithTheExactScoreSamplesTheTarget()
    {
        using var scope = NewDisposeScope();
        var mean = tensor(new[] { 1.0, -2.0 }, dtype: ScalarType.Float64);
        var variance = tensor(new[] { 0.5, 2.0 }, dtype: ScalarType.Float64);
        using var g = new Generator(6);
        var start = full(new long[] { 10000, 2 }, 5.0, dtype: ScalarType.Float64);
        var x = LangevinDynamics.Sample(xx => -(xx - mean) / variance, start, 0.02, 2000, g);
        var m = x.mean(new long[] { 0 }).data<double>().ToArray();
        var v = x.var(new long[] { 0 }).data<double>().ToArray();
        Assert.InRange(m[0], 0.95, 1.05);
        Assert.InRange(m[1], -2.1, -1.9);
        Assert.InRange(v[0], 0.475, 0.525);
        Assert.InRange(v[1], 1.9, 2.1);
    }

    /// <summary>A small MLP trained with L_simple on 8 Gaussians learns the score field: at a moderate noise level its
    /// score −ε_θ/σ_t is much closer to the exact score than zero is (relative error below 0.5 where the data lie).</summary>
    [Fact]
    public void LearnedScoreFieldApproachesTheExactOne()
    {
        Seeding.Set(0);
        var toy = new Toy2D.EightGaussians();
        var mix = DiffusedGaussianMixture.For(toy);
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 100, 1e-3, 0.1);
        using var net = new ToyNoisePredictor(width: 64, layers: 3);
        using var opt = optim.Adam(net.parameters(), 3e-3);
        for (int step = 0; step < 1500; step++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = SimpleLoss.Sample(q, (x, t) => net.call(x, t), toy.Sample(256));
            loss.backward();
            opt.step();
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            int t = 20;
            var x0 = toy.Sample(2000, 11L);
            var xt = q.QSample(x0, ForwardProcess.Full(2000, t, x0), randn(2000, 2));
            var learned = ScoreFunction.FromNoise(q, (x, tt) => net.call(x, tt), xt, ForwardProcess.Full(2000, t, xt));
            var exact = mix.Score(xt, q.AlphaBars[t]);
            double rel = ((learned - exact).square().sum() / exact.square().sum()).sqrt().item<float>();
            Assert.True(rel < 0.5, $"relative error of the learned score {rel}");
        }
    }
}
