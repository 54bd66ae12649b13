using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDIM (Song, Meng &amp; Ermon 2021, §4.1, Eq. 12; §4.2 for the sub-sequence): on an increasing sub-sequence τ of the
/// timesteps, x_{τ_{i−1}} = √ᾱ_{τ_{i−1}} x̂_0 + √(1 − ᾱ_{τ_{i−1}} − σ²) ε_θ(x_{τ_i}) + σ z, with
/// x̂_0 = (x_{τ_i} − √(1−ᾱ_{τ_i}) ε_θ)/√ᾱ_{τ_i} and σ = η √((1−ᾱ_{τ_{i−1}})/(1−ᾱ_{τ_i})) √(1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}) (Eq. 16).
/// η = 0 is the deterministic implicit model (same x_T, same x_0); η = 1 over all T steps is DDPM's ancestral sampler
/// with σ_t² = β̃_t. The same model trained with L_simple is used unchanged; only the number of network evaluations
/// (the sub-sequence's length) changes.
/// </summary>
public static class DdimSampler
{
    /// <summary>DDIM's "uniform" sub-sequence of <paramref name="steps"/> code timesteps from 0 to T−1 (evenly spaced,
    /// rounded, increasing, distinct; all T when steps ≥ T).</summary>
    public static int[] Timesteps(int total, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least one sampling step");
        if (steps >= total) return Enumerable.Range(0, total).ToArray();
        return Enumerable.Range(0, steps).Select(i => (int)Math.Round((double)i * (total - 1) / (steps - 1 == 0 ? 1 : steps - 1)))
            .Distinct().ToArray();
    }

    /// <summary>
    /// Runs DDIM from <paramref name="xT"/> with <paramref name="steps"/> network evaluations and stochasticity
    /// <paramref name="eta"/>; noise (η &gt; 0) from <paramref name="generator"/> or libtorch's global one, drawn at each
    /// step but the last. <paramref name="clipX0"/> clamps x̂_0 to [−1, 1] (ε is then recomputed from it, so Eq. 12 keeps
    /// x_t consistent). <paramref name="onStep"/> sees (t, x_prev, x̂_0) after each step.
    /// </summary>
    public static Tensor Sample(ForwardProcess q, Func<Tensor, Tensor, Tensor> eps, Tensor xT, int steps, double eta = 0,
        Generator? generator = null, bool clipX0 = true, Action<int, Tensor, Tensor>? onStep = null)
    {
        if (eta < 0) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be non-negative");
        var seq = Timesteps(q.Timesteps, steps);
        using var _ = no_grad();
        var x = xT.clone();
        for (int i = seq.Length - 1; i >= 0; i--)
        {
            using var scope = NewDisposeScope();
            int t = seq[i];
            var tt = ForwardProcess.Full(x.shape[0], t, x);
            var e = eps(x, tt);
            var x0 = q.PredictX0(x, tt, e);
            if (clipX0)
            {
                x0 = x0.clamp(-1, 1);
                e = q.PredictNoise(x, tt, x0);
            }
            double ab = q.AlphaBars[t];
            double abPrev = i > 0 ? q.AlphaBars[seq[i - 1]] : 1.0;
            double sigma = eta * Math.Sqrt((1 - abPrev) / (1 - ab)) * Math.Sqrt(1 - ab / abPrev);
            var next = Math.Sqrt(abPrev) * x0 + Math.Sqrt(Math.Max(1 - abPrev - sigma * sigma, 0)) * e;
            if (sigma > 0) next = next + sigma * randn(x.shape, dtype: x.dtype, device: x.device, generator: generator);
            onStep?.Invoke(t, next, x0);
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
