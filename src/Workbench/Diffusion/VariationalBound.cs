using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDPM's variational bound on the negative log-likelihood (Ho et al. 2020, §2, Eq. 5):
/// L_vlb = E_q[ D_KL(q(x_T|x_0) ‖ p(x_T)) + Σ_{t>1} D_KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t)) − log p_θ(x_0|x_1) ]
///       = L_T + Σ_{t=2}^{T} L_{t−1} + L_0,
/// each KL between Gaussians in closed form, L_0 the discretized Gaussian decoder (<see cref="DiscretizedGaussian"/>,
/// Eq. 13). Data are 8-bit images scaled to [−1, 1] (x/127.5 − 1), so the bound is a discrete codelength; in
/// bits/dim it is L_vlb / (D ln 2), the number Ho et al. report as NLL ≤ 3.75 on CIFAR-10 (Table 2). Every term is
/// returned per example in nats; the expectation over x_t is one sample of q(x_t|x_0) per term.
/// </summary>
public static class VariationalBound
{
    /// <summary>KL(N(m1, v1) ‖ N(m2, v2)) per element.</summary>
    public static Tensor NormalKl(Tensor mean1, Tensor var1, Tensor mean2, Tensor var2) =>
        0.5 * (-1 + log(var2) - log(var1) + var1 / var2 + (mean1 - mean2).square() / var2);

    /// <summary>L_T = D_KL(q(x_T | x_0) ‖ N(0, I)) per example [B] (no parameters: ≈ 0 for a good schedule).</summary>
    public static Tensor PriorTerm(ForwardProcess q, Tensor x0)
    {
        using var scope = NewDisposeScope();
        var t = ForwardProcess.Full(x0.shape[0], q.Timesteps - 1, x0);
        var (mean, variance) = q.QMeanVariance(x0, t);
        var kl = NormalKl(mean, variance.expand_as(x0), zeros_like(x0), ones_like(x0));
        return kl.flatten(1).sum(new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The term of code timestep t (the same for the whole batch), per example [B] in nats, at x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε
    /// with the given noise: for t ≥ 1 L_t = D_KL(q(x_t'|x_t, x_0) ‖ p_θ(x_t'|x_t)), t' = t − 1 (Eq. 5's L_{t−1} in the
    /// paper's numbering); for t = 0 L_0 = −log p_θ(x_0 | x_1) (Eq. 13). With <paramref name="clipX0"/> the model's x̂_0
    /// is clamped to [−1, 1] before its mean is formed, as the authors' <c>calc_bpd_loop</c> does (<c>clip_denoised</c>).
    /// </summary>
    public static Tensor Term(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor x0, int t, Tensor noise, bool clipX0 = false)
    {
        using var scope = NewDisposeScope();
        var (plain, clipped) = Terms(p, eps, x0, ForwardProcess.Full(x0.shape[0], t, x0), noise);
        return (clipX0 ? clipped : plain).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The term of each example's own code timestep t [B] (any mix of 0 … T−1), per example in nats, from one network
    /// evaluation: without and with x̂_0 clipped to [−1, 1] (see <see cref="Term"/>).
    /// </summary>
    public static (Tensor Plain, Tensor Clipped) Terms(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor x0, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var xt = p.Q.QSample(x0, t, noise);
        var e = eps(xt, t);
        var (qMean, qVar) = p.Q.QPosterior(x0, xt, t);
        var isDecoder = (t == 0).reshape(qVar.shape);
        // β̃ = 0 at t = 0: give the unused KL branch a positive variance so no inf/NaN is formed at all
        qVar = where(isDecoder, ones_like(qVar), qVar);
        Tensor PerExample(bool clip)
        {
            var (mean, variance, _) = p.MeanVarianceFromNoise(e, xt, t, clip);
            var decoder = -DiscretizedGaussian.LogLikelihood(x0, mean, variance.expand_as(x0));
            var kl = NormalKl(qMean, qVar.expand_as(x0), mean, variance.expand_as(x0));
            return where(isDecoder, decoder, kl).flatten(1).sum(new long[] { 1 });
        }
        return (PerExample(false).MoveToOuterDisposeScope(), PerExample(true).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The whole bound per example [B] in nats: L_T plus every term t = 0 … T−1 (<see cref="Term"/>), each at a fresh
    /// noise draw from libtorch's generator (or <paramref name="generator"/>). T network evaluations per batch.
    /// </summary>
    public static Tensor Total(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor x0, Generator? generator = null, bool clipX0 = false)
    {
        using var scope = NewDisposeScope();
        var (plain, clipped) = Estimate(p, eps, x0, p.Q.Timesteps, generator);
        return (clipX0 ? clipped : plain).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// An unbiased estimate of the bound per example [B] in nats, without and with x̂_0 clipping, from
    /// <paramref name="evaluations"/> network evaluations per example. L_T is exact; with evaluations ≥ T every term
    /// t = 0 … T−1 is evaluated (the exact sum of <see cref="Total"/>); otherwise L_0 is evaluated and the sum over
    /// t = 1 … T−1 is estimated by stratified sampling: the range is cut into evaluations − 1 strata of (nearly) equal
    /// size n_k, each example draws its own t uniformly in every stratum, and the term is weighted by n_k. Examples draw
    /// independently, so the spread of the estimates across examples gives an honest standard error that includes the
    /// sampling of t. Each term uses a fresh noise draw; <paramref name="terms"/>, when given, collects every evaluated
    /// term (unclipped) by timestep.
    /// </summary>
    public static (Tensor Plain, Tensor Clipped) Estimate(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor x0, int evaluations,
        Generator? generator = null, BoundTerms? terms = null)
    {
        int T = p.Q.Timesteps;
        if (evaluations < 2 && T > 1) throw new ArgumentOutOfRangeException(nameof(evaluations), evaluations, "need at least 2 network evaluations per example (L_0 and one stratum)");
        using var scope = NewDisposeScope();
        long batch = x0.shape[0];
        var prior = PriorTerm(p.Q, x0);
        terms?.Add(ForwardProcess.Full(batch, T, x0), prior);
        var plain = prior.clone();
        var clipped = prior.clone();
        void Accumulate(Tensor t, double weight)
        {
            Training.EvaluationProgress.ThrowIfCancelled();   // one term is one network pass: a stop is honoured within one
            using var inner = NewDisposeScope();
            var noise = randn(x0.shape, dtype: x0.dtype, device: x0.device, generator: generator);
            var (a, b) = Terms(p, eps, x0, t, noise);
            terms?.Add(t, a);
            plain.add_(a, alpha: weight);
            clipped.add_(b, alpha: weight);
        }
        if (evaluations >= T)
            for (int t = 0; t < T; t++) Accumulate(ForwardProcess.Full(batch, t, x0), 1);
        else
        {
            Accumulate(ForwardProcess.Full(batch, 0, x0), 1);
            int strata = evaluations - 1;
            for (int k = 0; k < strata; k++)
            {
                long lo = 1 + (long)k * (T - 1) / strata, hi = 1 + (long)(k + 1) * (T - 1) / strata;   // [lo, hi)
                var t = randint(lo, hi, new long[] { batch }, dtype: ScalarType.Int64, device: x0.device, generator: generator);
                Accumulate(t, hi - lo);
            }
        }
        return (plain.MoveToOuterDisposeScope(), clipped.MoveToOuterDisposeScope());
    }

    /// <summary>Nats per example to bits per dimension: L / (D ln 2).</summary>
    public static Tensor ToBitsPerDim(Tensor nats, long dimensions) => nats / (dimensions * Math.Log(2));
}
