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
    /// paper's numbering); for t = 0 L_0 = −log p_θ(x_0 | x_1) (Eq. 13).
    /// </summary>
    public static Tensor Term(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor x0, int t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var tt = ForwardProcess.Full(x0.shape[0], t, x0);
        var xt = p.Q.QSample(x0, tt, noise);
        var (mean, variance, _, _) = p.MeanVariance(eps, xt, tt);
        Tensor perElement;
        if (t == 0)
            perElement = -DiscretizedGaussian.LogLikelihood(x0, mean, variance.expand_as(x0));
        else
        {
            var (qMean, qVar) = p.Q.QPosterior(x0, xt, tt);
            perElement = NormalKl(qMean, qVar.expand_as(x0), mean, variance.expand_as(x0));
        }
        return perElement.flatten(1).sum(new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The whole bound per example [B] in nats: L_T plus every term t = 0 … T−1 (<see cref="Term"/>), each at a fresh
    /// noise draw from libtorch's generator (or <paramref name="generator"/>). T network evaluations per batch.
    /// <paramref name="terms"/>, when given, receives the batch mean of each term (index t; index T holds L_T).
    /// </summary>
    public static Tensor Total(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor x0, Generator? generator = null, double[]? terms = null)
    {
        using var scope = NewDisposeScope();
        var total = PriorTerm(p.Q, x0);
        if (terms is not null) terms[p.Q.Timesteps] += total.mean().to(ScalarType.Float64).item<double>();
        for (int t = 0; t < p.Q.Timesteps; t++)
        {
            using var inner = NewDisposeScope();
            var noise = randn(x0.shape, dtype: x0.dtype, device: x0.device, generator: generator);
            var term = Term(p, eps, x0, t, noise);
            if (terms is not null) terms[t] += term.mean().to(ScalarType.Float64).item<double>();
            total.add_(term);
        }
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>Nats per example to bits per dimension: L / (D ln 2).</summary>
    public static Tensor ToBitsPerDim(Tensor nats, long dimensions) => nats / (dimensions * Math.Log(2));
}
