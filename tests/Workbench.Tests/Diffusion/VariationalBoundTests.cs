using Workbench.Diffusion;
using static TorchSharp.torch;

namespace Workbench.Tests.Diffusion;

/// <summary>L_simple and the variational bound with its discretized Gaussian decoder (Ho et al. 2020, Eqs. 5, 13, 14).</summary>
public class VariationalBoundTests
{
    /// <summary>Eq. 13's decoder is a distribution over the 256 pixel values: their probabilities sum to 1, for a mean
    /// inside and outside [−1, 1] and for narrow and wide σ.</summary>
    [Fact]
    public void DiscretizedGaussianSumsToOneOverAll256Values()
    {
        using var scope = NewDisposeScope();
        var values = arange(256, dtype: ScalarType.Float64) / 127.5 - 1;
        foreach (var (mu, sigma) in new[] { (0.1, 0.01), (0.1, 0.5), (-0.97, 0.003), (1.3, 0.2) })
        {
            var lp = DiscretizedGaussian.LogLikelihood(values, full_like(values, mu), full_like(values, sigma * sigma));
            Assert.Equal(1.0, exp(lp).sum().item<double>(), 6);
        }
    }

    /// <summary>
    /// The bound as a sum of KL terms (Eq. 5) equals its definition E_q[log q(x_{1:T}|x_0) − log p_θ(x_{0:T})] (Eq. 3)
    /// on a case computed directly: T = 3, 1-D data at one pixel value, an analytic noise model ε(x, t) = (0.3 + 0.2t)·x,
    /// σ_t² = β_t (σ_1² = β̃_2). The direct side samples whole forward chains, evaluates each Gaussian density by hand
    /// and the decoder's bin mass with Φ, and takes μ_θ from Eq. 11 (not the code's posterior-mean route); both are
    /// 400k-sample Monte-Carlo means, which must agree within 4 standard errors.
    /// </summary>
    [Fact]
    public void KlSumMatchesTheDirectMonteCarloBoundOnATinyChain()
    {
        using var scope = NewDisposeScope();
        var betas = new[] { 0.1, 0.3, 0.6 };
        var q = new ForwardProcess(betas);
        var p = new ReverseProcess(q, ReverseVariance.Large);
        Func<Tensor, Tensor, Tensor> eps = (x, t) => (0.3 + 0.2 * t.to(ScalarType.Float64)).reshape(-1, 1) * x;
        const int n = 400_000;
        double x0Value = 180 / 127.5 - 1;
        var x0 = full(new long[] { n, 1 }, x0Value, dtype: ScalarType.Float64);
        using var g = new Generator(17);

        var bound = VariationalBound.Total(p, eps, x0, g);                   // [n], nats

        // direct: sample x_1, x_2, x_3 by Eq. 2 and evaluate log q(x_{1:3}|x_0) − log p(x_{0:3})
        static Tensor LogNormal(Tensor x, Tensor mean, double variance) =>
            -0.5 * (x - mean).square() / variance - 0.5 * Math.Log(2 * Math.PI * variance);
        var xs = new List<Tensor> { x0 };
        var logQ = zeros(n, 1, dtype: ScalarType.Float64);
        for (int t = 0; t < 3; t++)
        {
            var prev = xs[^1];
            var next = Math.Sqrt(1 - betas[t]) * prev + Math.Sqrt(betas[t]) * randn(new long[] { n, 1 }, dtype: ScalarType.Float64, generator: g);
            logQ += LogNormal(next, Math.Sqrt(1 - betas[t]) * prev, betas[t]);
            xs.Add(next);
        }
        double[] ab = { 1 - betas[0], (1 - betas[0]) * (1 - betas[1]), (1 - betas[0]) * (1 - betas[1]) * (1 - betas[2]) };
        double[] sigma2 = { betas[1] * (1 - ab[0]) / (1 - ab[1]), betas[1], betas[2] };
        Tensor Mu(Tensor xt, int t) =>   // Eq. 11, code timestep t
            (xt - betas[t] / Math.Sqrt(1 - ab[t]) * eps(xt, ForwardProcess.Full(n, t, xt))) / Math.Sqrt(1 - betas[t]);
        var logP = LogNormal(xs[3], zeros_like(xs[3]), 1);
        for (int t = 2; t >= 1; t--) logP += LogNormal(xs[t], Mu(xs[t + 1], t), sigma2[t]);
        var mu1 = Mu(xs[1], 0);
        double s1 = Math.Sqrt(sigma2[0]);
        logP += log(DiscretizedGaussian.Phi((x0 + 1.0 / 255 - mu1) / s1) - DiscretizedGaussian.Phi((x0 - 1.0 / 255 - mu1) / s1));
        var direct = (logQ - logP).squeeze(1);

        double a = bound.mean().item<double>(), b = direct.mean().item<double>();
        double se = Math.Sqrt(bound.var().item<double>() / n + direct.var().item<double>() / n);
        Assert.True(a > 0.5, $"the bound should be far from zero on this chain: {a}");
        Assert.True(Math.Abs(a - b) < 4 * se, $"KL-sum bound {a:F5} vs direct {b:F5} (s.e. {se:F5})");
    }

    /// <summary>L_simple is the mean squared error of the noise prediction at x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε: the model that
    /// returns the true ε has loss 0, one that returns 0 has loss mean(ε²).</summary>
    [Fact]
    public void SimpleLossIsTheNoisePredictionError()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 100);
        using var g = new Generator(3);
        var x0 = rand(new long[] { 4, 1, 3, 3 }, dtype: ScalarType.Float64, generator: g) * 2 - 1;
        var t = tensor(new long[] { 0, 10, 50, 99 });
        var noise = randn(new long[] { 4, 1, 3, 3 }, dtype: ScalarType.Float64, generator: g);
        // the perfect predictor recovers ε from x_t and the known x_0
        var perfect = SimpleLoss.PerExample(q, (xt, tt) => q.PredictNoise(xt, tt, x0), x0, t, noise);
        Assert.True(perfect.abs().max().item<double>() < 1e-12);
        var zero = SimpleLoss.PerExample(q, (xt, _) => zeros_like(xt), x0, t, noise);
        Assert.Equal(noise.square().flatten(1).mean(new long[] { 1 }).data<double>().ToArray(), zero.data<double>().ToArray());
    }

    /// <summary>
    /// In float32 (the dtype evaluation runs in) the bound stays within 1e-4 bits/dim of the same bound in float64, on the
    /// same images and noise, for a good noise predictor: the schedule's coefficients are formed in float64 and only then
    /// rounded, so 1 − ᾱ_t at small t does not lose its digits. Linear schedule, T = 1000, 8×8 images.
    /// </summary>
    [Fact]
    public void Float32BoundMatchesFloat64()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 1000);
        var p = new ReverseProcess(q, ReverseVariance.Large);
        using var g = new Generator(11);
        var x0 = (randint(0, 256, new long[] { 4, 1, 8, 8 }, generator: g).to(ScalarType.Float64) / 127.5 - 1);
        var offset = 0.01 * randn(new long[] { 4, 1, 8, 8 }, dtype: ScalarType.Float64, generator: g);
        var noises = Enumerable.Range(0, q.Timesteps).Select(_ => randn(new long[] { 4, 1, 8, 8 }, dtype: ScalarType.Float64, generator: g)).ToArray();
        double Bound(ScalarType dtype)
        {
            var x = x0.to(dtype);
            var near = (x0 + offset).to(dtype);   // a good model: the noise that would have produced x_t from a nearby x_0
            Func<Tensor, Tensor, Tensor> eps = (xt, t) => q.PredictNoise(xt, t, near);
            double total = 0;
            for (int t = 0; t < q.Timesteps; t++)
                total += VariationalBound.Term(p, eps, x, t, noises[t].to(dtype)).to(ScalarType.Float64).mean().item<double>();
            return total / (64 * Math.Log(2));
        }
        double b64 = Bound(ScalarType.Float64), b32 = Bound(ScalarType.Float32);
        Assert.True(Math.Abs(b32 - b64) < 1e-4, $"float32 {b32:F6} vs float64 {b64:F6} bits/dim");
    }

    /// <summary>
    /// The stratified estimate of the bound (L_0 plus 3 strata of t, each term weighted by its stratum's size) is unbiased:
    /// on a T = 13 chain with an analytic noise model, its mean over 100k examples agrees with the exact sum of all
    /// terms within 4 standard errors, and its spread is what the standard error is computed from.
    /// </summary>
    [Fact]
    public void StratifiedEstimateIsUnbiased()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Cosine, 13);
        var p = new ReverseProcess(q, ReverseVariance.Large);
        Func<Tensor, Tensor, Tensor> eps = (x, t) => (0.2 + 0.05 * t.to(ScalarType.Float64)).reshape(-1, 1) * x;
        const int n = 100_000;
        var x0 = full(new long[] { n, 1 }, 60 / 127.5 - 1, dtype: ScalarType.Float64);
        using var g = new Generator(5);
        var exact = VariationalBound.Total(p, eps, x0, g);
        var (estimate, _) = VariationalBound.Estimate(p, eps, x0, 4, g);
        double a = exact.mean().item<double>(), b = estimate.mean().item<double>();
        double se = Math.Sqrt(exact.var().item<double>() / n + estimate.var().item<double>() / n);
        Assert.True(a > 0.5, $"the bound should be far from zero on this chain: {a}");
        Assert.True(estimate.var().item<double>() > exact.var().item<double>(), "sampling t should add variance");
        Assert.True(Math.Abs(a - b) < 4 * se, $"exact {a:F5} vs stratified {b:F5} (s.e. {se:F5})");
    }

    /// <summary>The clipped term is the KL against the mean formed from x̂_0 clamped to [−1, 1], from the same network
    /// evaluation: with a zero noise prediction x̂_0 = x_t/√ᾱ_t leaves [−1, 1] at large t, and the two differ there.</summary>
    [Fact]
    public void ClippedTermUsesTheClampedX0()
    {
        using var scope = NewDisposeScope();
        var q = ForwardProcess.Create(BetaScheduleKind.Linear, 100);
        var p = new ReverseProcess(q, ReverseVariance.Large);
        using var g = new Generator(2);
        var x0 = rand(new long[] { 3, 1, 4, 4 }, dtype: ScalarType.Float64, generator: g) * 2 - 1;
        var noise = randn(new long[] { 3, 1, 4, 4 }, dtype: ScalarType.Float64, generator: g);
        Func<Tensor, Tensor, Tensor> zero = (x, _) => zeros_like(x);
        var t = ForwardProcess.Full(3, 90, x0);
        var (plain, clipped) = VariationalBound.Terms(p, zero, x0, t, noise);
        var xt = q.QSample(x0, t, noise);
        var (qMean, qVar) = q.QPosterior(x0, xt, t);
        var (mean, variance, x0Hat, _) = p.MeanVariance(zero, xt, t, clipX0: true);
        Assert.True(x0Hat.abs().max().item<double>() <= 1);
        var direct = VariationalBound.NormalKl(qMean, qVar.expand_as(x0), mean, variance.expand_as(x0)).flatten(1).sum(new long[] { 1 });
        Assert.True((clipped - direct).abs().max().item<double>() < 1e-10);
        Assert.True((plain - clipped).abs().min().item<double>() > 1e-3);
    }
}
