using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// The learned reverse process of DDPM (Ho et al. 2020, §3.2): p_θ(x_{t−1} | x_t) = N(μ_θ(x_t, t), σ_t² I) with the
/// ε-parameterisation μ_θ = (x_t − β_t/√(1−ᾱ_t) ε_θ(x_t, t))/√α_t (Eq. 11) and a fixed variance
/// (<see cref="ReverseVariance"/>). <see cref="MeanVariance"/> computes μ_θ the equivalent way the authors' code does,
/// as the posterior mean μ̃_t(x_t, x̂_0) at x̂_0 = (x_t − √(1−ᾱ_t) ε_θ)/√ᾱ_t, which allows clipping x̂_0 to the data
/// range [−1, 1] when sampling. The noise predictor is a function (x_t [B, …], t [B] int64) → ε̂ shaped like x_t.
/// </summary>
public sealed class ReverseProcess(ForwardProcess q, ReverseVariance variance = ReverseVariance.Large)
{
    public ForwardProcess Q { get; } = q;
    public ReverseVariance Variance { get; } = variance;

    /// <summary>σ_t² per code timestep (see <see cref="ReverseVariance"/> for the first step).</summary>
    public double[] Variances { get; } = FixedVariances(q, variance);

    static double[] FixedVariances(ForwardProcess q, ReverseVariance v)
    {
        var s = v == ReverseVariance.Small ? (double[])q.PosteriorVariances.Clone() : (double[])q.Betas.Clone();
        s[0] = q.Timesteps > 1 ? q.PosteriorVariances[1] : q.Betas[0];
        return s;
    }

    /// <summary>
    /// μ_θ(x_t, t), σ_t² and x̂_0 for a batch, from the noise prediction ε̂ = <paramref name="eps"/>(x_t, t) (Eq. 11 via
    /// Eqs. 6–7 and 15); with <paramref name="clipX0"/> the x̂_0 estimate is clamped to [−1, 1] first.
    /// </summary>
    public (Tensor Mean, Tensor Variance, Tensor X0, Tensor Eps) MeanVariance(Func<Tensor, Tensor, Tensor> eps, Tensor xt, Tensor t, bool clipX0 = false)
    {
        using var scope = NewDisposeScope();
        var e = eps(xt, t);
        var (mean, v, x0) = MeanVarianceFromNoise(e, xt, t, clipX0);
        return (mean.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope(), e.MoveToOuterDisposeScope());
    }

    /// <summary><see cref="MeanVariance"/> from an already computed noise prediction <paramref name="eps"/> (so one
    /// network evaluation can give both the clipped and the unclipped mean).</summary>
    public (Tensor Mean, Tensor Variance, Tensor X0) MeanVarianceFromNoise(Tensor eps, Tensor xt, Tensor t, bool clipX0 = false)
    {
        using var scope = NewDisposeScope();
        var x0 = Q.PredictX0(xt, t, eps);
        if (clipX0) x0 = x0.clamp(-1, 1);
        var (mean, _) = Q.QPosterior(x0, xt, t);
        var v = ForwardProcess.Gather(Variances, t, xt);
        return (mean.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }
}
