using Workbench.Diffusion;
using static TorchSharp.torch;

namespace Workbench.Tests.Diffusion;

/// <summary>DDPM's ancestral sampler and DDIM (Song et al. 2021).</summary>
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class SamplerTests
{
    static readonly Func<Tensor, Tensor, Tensor> Eps = (x, t) => 0.5 * tanh(x) + 0.002 * t.to(x.dtype).reshape(-1, 1, 1, 1);

    /// <summary>DDIM with η = 0 is a deterministic map of x_T (Song et al. §4.1): two runs from the same x_T with the
    /// global generator in different states give identical samples, and the global generator is not drawn from.</summary>
    [Fact]
    public void DdimWithEtaZeroIsDeterministicGivenXT()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 200);
        using var g = new Generator(9);
        var xT = randn(new long[] { 3, 1, 4, 4 }, dtype: ScalarType.Float64, generator: g);
        random.manual_seed(1);
        var a = DdimSampler.Sample(q, Eps, xT, steps: 20, eta: 0);
        var after = randn(1).item<float>();
        random.manual_seed(2);
        var b = DdimSampler.Sample(q, Eps, xT, steps: 20, eta: 0);
        Assert.Equal(0, (a - b).abs().max().item<double>());
        random.manual_seed(1);
        Assert.Equal(after, randn(1).item<float>());   // no draws from the global generator
        // and η > 0 is not deterministic
        random.manual_seed(2);
        var c = DdimSampler.Sample(q, Eps, xT, steps: 20, eta: 1);
        Assert.True((a - c).abs().max().item<double>() > 1e-3);
    }

    /// <summary>DDIM with η = 1 on all T steps is DDPM (Song et al. §4.1, Eq. 16): σ_t² = β̃_t and the mean is μ̃_t(x_t, x̂_0),
    /// so with the same noise draws the trajectory equals the ancestral sampler's with σ_t² = β̃_t, step by step.</summary>
    [Fact]
    public void DdimWithEtaOneOverAllStepsIsAncestralDdpmWithPosteriorVariance()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Cosine, 50);
        var p = new ReverseProcess(q, ReverseVariance.Small);
        var xT = randn(new long[] { 2, 1, 3, 3 }, dtype: ScalarType.Float64, generator: new Generator(4));
        foreach (var clip in new[] { false, true })
        {
            var ddpmSteps = new List<Tensor>();
            var ddimSteps = new List<Tensor>();
            using var g1 = new Generator(21);
            using var g2 = new Generator(21);
            var ddpm = AncestralSampler.Sample(p, Eps, xT, g1, clipX0: clip, onStep: (_, x, _) => ddpmSteps.Add(x.clone().MoveToOuterDisposeScope()));
            var ddim = DdimSampler.Sample(q, Eps, xT, steps: 50, eta: 1, generator: g2, clipX0: clip, onStep: (_, x, _) => ddimSteps.Add(x.clone().MoveToOuterDisposeScope()));
            Assert.Equal(50, ddpmSteps.Count);
            Assert.Equal(50, ddimSteps.Count);
            for (int i = 0; i < 50; i++)
                Assert.True((ddpmSteps[i] - ddimSteps[i]).abs().max().item<double>() < 1e-9, $"clip={clip}: step {i} differs");
            Assert.True((ddpm - ddim).abs().max().item<double>() < 1e-9);
        }
    }

    /// <summary>DDIM's sub-sequence: increasing, distinct, from 0 to T−1, of the requested length.</summary>
    [Fact]
    public void DdimSubSequenceSpansTheChain()
    {
        foreach (var steps in new[] { 1, 2, 10, 50, 100, 999, 1000, 5000 })
        {
            var seq = DdimSampler.Timesteps(1000, steps);
            Assert.Equal(Math.Min(steps, 1000), seq.Length);
            Assert.Equal(steps == 1 ? 0 : 999, seq[^1]);
            Assert.Equal(0, seq[0]);
            for (int i = 1; i < seq.Length; i++) Assert.True(seq[i] > seq[i - 1]);
        }
    }

    /// <summary>Algorithm 2 with the optimal noise model of Gaussian data N(0, s²) ends at that distribution: for x_0 ~ N(0, s²),
    /// E[ε | x_t] = √(1−ᾱ_t) x_t / (ᾱ_t s² + 1 − ᾱ_t); 20k chains of the paper's T = 1000 reach variance s² (within 5%) with either fixed variance.</summary>
    [Fact]
    public void AncestralSamplerWithTheOptimalModelRecoversGaussianData()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 1000);
        const double s2 = 0.25;
        Func<Tensor, Tensor, Tensor> optimal = (x, t) =>
        {
            var ab = ForwardProcess.Gather(q.AlphaBars, t, x);
            return (1 - ab).sqrt() * x / (ab * s2 + 1 - ab);
        };
        foreach (var v in new[] { ReverseVariance.Small, ReverseVariance.Large })
        {
            using var g = new Generator(8);
            var xT = randn(new long[] { 20000, 1, 1, 1 }, dtype: ScalarType.Float64, generator: g);
            var x0 = AncestralSampler.Sample(new ReverseProcess(q, v), optimal, xT, g, clipX0: false);
            Assert.InRange(x0.var().item<double>(), 0.95 * s2, 1.05 * s2);
            Assert.InRange(x0.mean().item<double>(), -0.02, 0.02);
        }
    }
}
