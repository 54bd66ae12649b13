using Workbench.Diffusion;
using static TorchSharp.torch;

namespace Workbench.Tests.Diffusion;

/// <summary>The forward process q (Ho et al. 2020, Eqs. 2, 4, 6–7) and its schedules.</summary>
public class ForwardProcessTests
{
    /// <summary>Eq. 4 follows from Eq. 2: iterating the one-step kernel x_t = √(1−β_t) x_{t−1} + √β_t ε gives mean
    /// m_t = √(1−β_t) m_{t−1} and variance v_t = (1−β_t) v_{t−1} + β_t, which must equal √ᾱ_t and 1−ᾱ_t at every t
    /// (exactly, both schedules); and Monte Carlo: 200k chains run through <see cref="ForwardProcess.QStep"/> have the
    /// mean and variance <see cref="ForwardProcess.QMeanVariance"/> states, as do 200k draws of <see cref="ForwardProcess.QSample"/>.</summary>
    [Fact]
    public void ClosedFormMarginalMatchesIteratingTheOneStepKernel()
    {
        foreach (var q in new[] { ForwardProcess.Create(BetaScheduleKind.Linear, 1000), ForwardProcess.Create(BetaScheduleKind.Cosine, 1000) })
        {
            double m = 1, v = 0;
            for (int t = 0; t < q.Timesteps; t++)
            {
                m *= Math.Sqrt(1 - q.Betas[t]);
                v = (1 - q.Betas[t]) * v + q.Betas[t];
                Assert.Equal(Math.Sqrt(q.AlphaBars[t]), m, 1e-12);
                Assert.Equal(1 - q.AlphaBars[t], v, 1e-12);
            }
        }

        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        var q20 = new ForwardProcess(BetaSchedule.Linear(20, 0.01, 0.2));
        const int n = 200_000;
        const double start = 0.7;
        var x = full(new long[] { n, 1 }, start, dtype: ScalarType.Float64);
        foreach (var t in new[] { 0, 4, 9, 19 })
        {
            // chains stepped up to t, then compared with Eq. 4 at t
            var chain = full(new long[] { n, 1 }, start, dtype: ScalarType.Float64);
            for (int s = 0; s <= t; s++)
                chain = q20.QStep(chain, ForwardProcess.Full(n, s, chain), randn(new long[] { n, 1 }, dtype: ScalarType.Float64, generator: g));
            var tt = ForwardProcess.Full(n, t, x);
            var (mean, variance) = q20.QMeanVariance(x, tt);
            double m = mean[0, 0].item<double>(), v = variance[0, 0].item<double>();
            var direct = q20.QSample(x, tt, randn(new long[] { n, 1 }, dtype: ScalarType.Float64, generator: g));
            foreach (var samples in new[] { chain, direct })
            {
                double sm = samples.mean().item<double>(), sv = samples.var().item<double>();
                Assert.True(Math.Abs(sm - m) < 5 * Math.Sqrt(v / n), $"t={t}: sample mean {sm}, Eq. 4 {m}");
                Assert.True(Math.Abs(sv - v) < 5 * v * Math.Sqrt(2.0 / n), $"t={t}: sample variance {sv}, Eq. 4 {v}");
            }
        }
    }

    /// <summary>ᾱ_t is strictly decreasing; the linear schedule (1e-4 … 0.02, T = 1000) ends at ᾱ_T = 4.0358e-5 and
    /// starts at 1 − 1e-4; the cosine schedule follows f(t)/f(0) (Nichol &amp; Dhariwal Eq. 17) up to its clipped last
    /// step: ᾱ_1 = 0.9999587, ᾱ_500 = 0.4938436, and ᾱ_T = f(T−1)/f(0)·0.001 = 2.4288e-9 (β_T clipped to 0.999).</summary>
    [Fact]
    public void AlphaBarIsMonotoneWithTheDocumentedEndValues()
    {
        var linear = ForwardProcess.Create(BetaScheduleKind.Linear, 1000);
        var cosine = ForwardProcess.Create(BetaScheduleKind.Cosine, 1000);
        foreach (var q in new[] { linear, cosine })
            for (int t = 1; t < q.Timesteps; t++) Assert.True(q.AlphaBars[t] < q.AlphaBars[t - 1], $"alpha-bar not decreasing at {t}");
        Assert.Equal(1e-4, linear.Betas[0], 15);
        Assert.Equal(0.02, linear.Betas[^1], 15);
        Assert.Equal(1 - 1e-4, linear.AlphaBars[0], 15);
        Assert.Equal(4.0358297653756754e-05, linear.AlphaBars[^1], 1e-12);
        Assert.Equal(0.999958715775178, cosine.AlphaBars[0], 1e-12);
        Assert.Equal(0.4938435904406382, cosine.AlphaBars[499], 1e-12);
        for (int t = 0; t < 999; t++) Assert.Equal(BetaSchedule.CosineAlphaBar(t + 1, 1000), cosine.AlphaBars[t], 1e-9);
        Assert.Equal(0.999, cosine.Betas[^1], 15);
        Assert.Equal(2.4287669070348567e-09, cosine.AlphaBars[^1], 1e-15);
        // Eqs. 6–7 at the first step: β̃ = 0 (x_0 is known given x_1 and x_0)
        Assert.Equal(0, linear.PosteriorVariances[0]);
    }

    /// <summary>Eqs. 6–7 are the Gaussian conditional of the joint q(x_{t−1}, x_t | x_0): μ̃ and β̃ equal the regression of
    /// x_{t−1} on x_t computed from the joint's covariance (Cov = √α_t (1−ᾱ_{t−1}), Var x_t = 1−ᾱ_t), exactly.</summary>
    [Fact]
    public void PosteriorIsTheConditionalOfTheJointGaussian()
    {
        using var scope = NewDisposeScope();
        var q = new ForwardProcess(BetaSchedule.Linear(10, 0.05, 0.4));
        var x0 = tensor(new[] { 0.3, -0.8 }, dtype: ScalarType.Float64).reshape(2, 1);
        var xt = tensor(new[] { 1.1, 0.2 }, dtype: ScalarType.Float64).reshape(2, 1);
        for (int t = 1; t < q.Timesteps; t++)
        {
            double abPrev = q.AlphaBars[t - 1], ab = q.AlphaBars[t], a = q.Alphas[t];
            double cov = Math.Sqrt(a) * (1 - abPrev), varT = 1 - ab, varPrev = 1 - abPrev;
            var (mean, variance) = q.QPosterior(x0, xt, ForwardProcess.Full(2, t, xt));
            for (int i = 0; i < 2; i++)
            {
                double x0i = x0[i, 0].item<double>(), xti = xt[i, 0].item<double>();
                double expected = Math.Sqrt(abPrev) * x0i + cov / varT * (xti - Math.Sqrt(ab) * x0i);
                Assert.Equal(expected, mean[i, 0].item<double>(), 12);
            }
            Assert.Equal(varPrev - cov * cov / varT, variance[0, 0].item<double>(), 12);
        }
    }
}
