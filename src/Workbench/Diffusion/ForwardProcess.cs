using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// The forward (diffusion) process of DDPM (Ho et al. 2020, §2): a fixed Markov chain that adds Gaussian noise,
/// q(x_t | x_{t−1}) = N(√(1−β_t) x_{t−1}, β_t I) (Eq. 2), with the closed-form marginal
/// q(x_t | x_0) = N(√ᾱ_t x_0, (1−ᾱ_t) I), α_t = 1 − β_t, ᾱ_t = Π_{s≤t} α_s (Eq. 4), and the tractable posterior
/// q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I), μ̃_t = √ᾱ_{t−1} β_t/(1−ᾱ_t) x_0 + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) x_t,
/// β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) β_t (Eqs. 6–7). The schedule and every coefficient formed from it (√ᾱ, √(1−ᾱ),
/// 1/√ᾱ, √(1/ᾱ−1) and both posterior-mean coefficients) are computed in float64 and only then gathered per example
/// and cast to the data's dtype: forming 1 − ᾱ_t from a float32 ᾱ_t loses most digits at small t (the x_0 coefficient
/// of μ̃ at t = 0 would be 0.99983 instead of 1). Timesteps in code are 0-based: t = 0 … T−1 is the paper's t = 1 … T,
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
        _sqrtAlphas = Alphas.Select(Math.Sqrt).ToArray();
        _sqrtBetas = Betas.Select(Math.Sqrt).ToArray();
        OneMinusAlphaBars = AlphaBars.Select(a => 1 - a).ToArray();
        SqrtAlphaBars = AlphaBars.Select(Math.Sqrt).ToArray();
        SqrtOneMinusAlphaBars = OneMinusAlphaBars.Select(Math.Sqrt).ToArray();
        SqrtRecipAlphaBars = AlphaBars.Select(a => Math.Sqrt(1 / a)).ToArray();
        SqrtRecipM1AlphaBars = AlphaBars.Select(a => Math.Sqrt(1 / a - 1)).ToArray();
        PosteriorMeanCoefX0 = Enumerable.Range(0, n).Select(i => Betas[i] * Math.Sqrt(AlphaBarsPrev[i]) / (1 - AlphaBars[i])).ToArray();
        PosteriorMeanCoefXt = Enumerable.Range(0, n).Select(i => (1 - AlphaBarsPrev[i]) * Math.Sqrt(Alphas[i]) / (1 - AlphaBars[i])).ToArray();
    }

    readonly double[] _sqrtAlphas, _sqrtBetas;   // √α_t and √β_t of Eq. 2

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
    /// <summary>1 − ᾱ_t, the variance of q(x_t | x_0).</summary>
    public double[] OneMinusAlphaBars { get; }
    /// <summary>√ᾱ_t and √(1−ᾱ_t), the coefficients of Eq. 4.</summary>
    public double[] SqrtAlphaBars { get; }
    public double[] SqrtOneMinusAlphaBars { get; }
    /// <summary>1/√ᾱ_t and √(1/ᾱ_t − 1): x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε.</summary>
    public double[] SqrtRecipAlphaBars { get; }
    public double[] SqrtRecipM1AlphaBars { get; }
    /// <summary>The coefficients of μ̃_t (Eq. 7): √ᾱ_{t−1} β_t/(1−ᾱ_t) on x_0 and √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) on x_t.</summary>
    public double[] PosteriorMeanCoefX0 { get; }
    public double[] PosteriorMeanCoefXt { get; }

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
        return (Gather(SqrtAlphaBars, t, x0) * x0 + Gather(SqrtOneMinusAlphaBars, t, x0) * noise).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 4: the mean √ᾱ_t x_0 and variance 1 − ᾱ_t (broadcast [B, 1, …]) of q(x_t | x_0).</summary>
    public (Tensor Mean, Tensor Variance) QMeanVariance(Tensor x0, Tensor t)
    {
        using var scope = NewDisposeScope();
        var mean = Gather(SqrtAlphaBars, t, x0) * x0;
        return (mean.MoveToOuterDisposeScope(), Gather(OneMinusAlphaBars, t, x0).MoveToOuterDisposeScope());
    }

    /// <summary>Eq. 2, one step of the chain: x_t = √(1−β_t) x_{t−1} + √β_t ε.</summary>
    public Tensor QStep(Tensor xPrev, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        return (Gather(_sqrtAlphas, t, xPrev) * xPrev + Gather(_sqrtBetas, t, xPrev) * noise).MoveToOuterDisposeScope();
    }

    /// <summary>Eqs. 6–7: the mean μ̃_t(x_t, x_0) and variance β̃_t of the posterior q(x_{t−1} | x_t, x_0).</summary>
    public (Tensor Mean, Tensor Variance) QPosterior(Tensor x0, Tensor xt, Tensor t)
    {
        using var scope = NewDisposeScope();
        var mean = Gather(PosteriorMeanCoefX0, t, xt) * x0 + Gather(PosteriorMeanCoefXt, t, xt) * xt;
        var variance = Gather(PosteriorVariances, t, xt);
        return (mean.MoveToOuterDisposeScope(), variance.MoveToOuterDisposeScope());
    }

    /// <summary>Eq. 4 solved for x_0 given the noise: x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε (Eq. 15's estimate).</summary>
    public Tensor PredictX0(Tensor xt, Tensor t, Tensor eps)
    {
        using var scope = NewDisposeScope();
        return (Gather(SqrtRecipAlphaBars, t, xt) * xt - Gather(SqrtRecipM1AlphaBars, t, xt) * eps).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 4 solved for ε given x_0: ε = (x_t/√ᾱ_t − x_0)/√(1/ᾱ_t − 1).</summary>
    public Tensor PredictNoise(Tensor xt, Tensor t, Tensor x0)
    {
        using var scope = NewDisposeScope();
        return ((Gather(SqrtRecipAlphaBars, t, xt) * xt - x0) / Gather(SqrtRecipM1AlphaBars, t, xt)).MoveToOuterDisposeScope();
    }

    /// <summary>σ_t = √(1−ᾱ_t), the noise level of q(x_t | x_0) (the score reading's σ; Song et al. 2021).</summary>
    public double Sigma(int t) => Math.Sqrt(1 - AlphaBars[t]);

    /// <summary>A batch of timesteps t [B], all equal to <paramref name="t"/>, on <paramref name="like"/>'s device.</summary>
    public static Tensor Full(long batch, long t, Tensor like) => full(new long[] { batch }, t, dtype: ScalarType.Int64, device: like.device);
}
