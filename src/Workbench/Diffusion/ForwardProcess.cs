using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// The forward (diffusion) process of DDPM (Ho et al. 2020, §2): a fixed Markov chain that adds Gaussian noise,
/// q(x_t | x_{t−1}) = N(√(1−β_t) x_{t−1}, β_t I) (Eq. 2), with the closed-form marginal
/// q(x_t | x_0) = N(√ᾱ_t x_0, (1−ᾱ_t) I), α_t = 1 − β_t, ᾱ_t = Π_{s≤t} α_s (Eq. 4), and the tractable posterior
/// q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I), μ̃_t = √ᾱ_{t−1} β_t/(1−ᾱ_t) x_0 + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) x_t,
/// β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) β_t (Eqs. 6–7). The schedule is kept in float64; coefficients are gathered per
/// example and cast to the data's dtype. Timesteps in code are 0-based: t = 0 … T−1 is the paper's t = 1 … T,
/// and ᾱ_{−1} := 1 (the paper's ᾱ_0).
/// </summary>
public sealed class ForwardProcess
{
    public ForwardProcess(double[] betas)
    {
        if (betas.Length == 0 || betas.Any(b => !(b > 0 && b < 1)))
            throw new ArgumentException("every beta must lie in (0, 1)", nameof(betas));
        Betas = (double[])betas.Clone();
        int n = betas.Length;
        Alphas = betas.Select(b => 1 - b).ToArray();
        AlphaBars = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) AlphaBars[i] = prod *= Alphas[i];
        AlphaBarsPrev = new double[n];
        for (int i = 0; i < n; i++) AlphaBarsPrev[i] = i == 0 ? 1 : AlphaBars[i - 1];
        PosteriorVariances = Enumerable.Range(0, n).Select(i => Betas[i] * (1 - AlphaBarsPrev[i]) / (1 - AlphaBars[i])).ToArray();
    }

    /// <summary>A forward process with a named schedule (<see cref="BetaSchedule.Create"/>).</summary>
    public static ForwardProcess Create(BetaScheduleKind kind, int timesteps, double betaStart = 1e-4, double betaEnd = 0.02) =>
        new(BetaSchedule.Create(kind, timesteps, betaStart, betaEnd));

    /// <summary>T, the number of noising steps.</summary>
    public int Timesteps => Betas.Length;
    public double[] Betas { get; }
    public double[] Alphas { get; }
    /// <summary>ᾱ_t for code timesteps 0 … T−1 (decreasing from 1 − β_1).</summary>
    public double[] AlphaBars { get; }
    /// <summary>ᾱ_{t−1}, with 1 at t = 0.</summary>
    public double[] AlphaBarsPrev { get; }
    /// <summary>β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t)·β_t (Eq. 7); 0 at t = 0.</summary>
    public double[] PosteriorVariances { get; }

    /// <summary>Gathers a per-timestep coefficient for a batch of timesteps t [B] (int64) and shapes it [B, 1, …, 1] to
    /// broadcast against <paramref name="like"/>, in its dtype and on its device.</summary>
    public static Tensor Gather(double[] values, Tensor t, Tensor like)
    {
        using var scope = NewDisposeScope();
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = t.shape[0];
        var all = tensor(values, dtype: ScalarType.Float64).to(like.device);
        return all.index_select(0, t.to(ScalarType.Int64).to(like.device)).to(like.dtype).reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 4, reparameterised: x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε, for timesteps t [B] and noise ε shaped like x_0.</summary>
    public Tensor QSample(Tensor x0, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var a = Gather(AlphaBars, t, x0);
        return (a.sqrt() * x0 + (1 - a).sqrt() * noise).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 4: the mean √ᾱ_t x_0 and variance 1 − ᾱ_t (broadcast [B, 1, …]) of q(x_t | x_0).</summary>
    public (Tensor Mean, Tensor Variance) QMeanVariance(Tensor x0, Tensor t)
    {
        using var scope = NewDisposeScope();
        var a = Gather(AlphaBars, t, x0);
        return ((a.sqrt() * x0).MoveToOuterDisposeScope(), (1 - a).MoveToOuterDisposeScope());
    }

    /// <summary>Eq. 2, one step of the chain: x_t = √(1−β_t) x_{t−1} + √β_t ε.</summary>
    public Tensor QStep(Tensor xPrev, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var b = Gather(Betas, t, xPrev);
        return ((1 - b).sqrt() * xPrev + b.sqrt() * noise).MoveToOuterDisposeScope();
    }

    /// <summary>Eqs. 6–7: the mean μ̃_t(x_t, x_0) and variance β̃_t of the posterior q(x_{t−1} | x_t, x_0).</summary>
    public (Tensor Mean, Tensor Variance) QPosterior(Tensor x0, Tensor xt, Tensor t)
    {
        using var scope = NewDisposeScope();
        var b = Gather(Betas, t, xt);
        var a = Gather(Alphas, t, xt);
        var ab = Gather(AlphaBars, t, xt);
        var abPrev = Gather(AlphaBarsPrev, t, xt);
        var mean = abPrev.sqrt() * b / (1 - ab) * x0 + a.sqrt() * (1 - abPrev) / (1 - ab) * xt;
        var variance = Gather(PosteriorVariances, t, xt);
        return (mean.MoveToOuterDisposeScope(), variance.MoveToOuterDisposeScope());
    }

    /// <summary>Eq. 4 solved for x_0 given the noise: x̂_0 = (x_t − √(1−ᾱ_t) ε)/√ᾱ_t (Eq. 15's estimate).</summary>
    public Tensor PredictX0(Tensor xt, Tensor t, Tensor eps)
    {
        using var scope = NewDisposeScope();
        var a = Gather(AlphaBars, t, xt);
        return ((xt - (1 - a).sqrt() * eps) / a.sqrt()).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 4 solved for ε given x_0: ε = (x_t − √ᾱ_t x_0)/√(1−ᾱ_t).</summary>
    public Tensor PredictNoise(Tensor xt, Tensor t, Tensor x0)
    {
        using var scope = NewDisposeScope();
        var a = Gather(AlphaBars, t, xt);
        return ((xt - a.sqrt() * x0) / (1 - a).sqrt()).MoveToOuterDisposeScope();
    }

    /// <summary>σ_t = √(1−ᾱ_t), the noise level of q(x_t | x_0) (the score reading's σ; Song et al. 2021).</summary>
    public double Sigma(int t) => Math.Sqrt(1 - AlphaBars[t]);

    /// <summary>A batch of timesteps t [B], all equal to <paramref name="t"/>, on <paramref name="like"/>'s device.</summary>
    public static Tensor Full(long batch, long t, Tensor like) => full(new long[] { batch }, t, dtype: ScalarType.Int64, device: like.device);
}
