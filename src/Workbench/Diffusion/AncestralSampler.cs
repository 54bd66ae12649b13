using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDPM's ancestral sampler (Ho et al. 2020, Algorithm 2): x_T ~ N(0, I); for t = T … 1,
/// x_{t−1} = μ_θ(x_t, t) + σ_t z with z ~ N(0, I) for t &gt; 1 and z = 0 at t = 1; returns x_0 (the mean of the last
/// step, as the paper displays samples). T network evaluations. Every step runs inside its own dispose scope without
/// gradients.
/// </summary>
public static class AncestralSampler
{
    /// <summary>
    /// Runs the reverse chain from <paramref name="xT"/> down to x_0. Noise comes from <paramref name="generator"/>
    /// (null: libtorch's global one). <paramref name="onStep"/> sees (t, x_{t−1}, x̂_0) after each step (the reverse
    /// process shown step by step). With <paramref name="clipX0"/>, x̂_0 is clamped to [−1, 1] before the mean.
    /// </summary>
    public static Tensor Sample(ReverseProcess p, Func<Tensor, Tensor, Tensor> eps, Tensor xT, Generator? generator = null,
        bool clipX0 = true, Action<int, Tensor, Tensor>? onStep = null)
    {
        using var _ = no_grad();
        var x = xT.clone();
        for (int t = p.Q.Timesteps - 1; t >= 0; t--)
        {
            using var scope = NewDisposeScope();
            var tt = ForwardProcess.Full(x.shape[0], t, x);
            var (mean, variance, x0, _) = p.MeanVariance(eps, x, tt, clipX0);
            var next = mean;
            if (t > 0) next = mean + variance.sqrt() * randn(x.shape, dtype: x.dtype, device: x.device, generator: generator);
            onStep?.Invoke(t, next, x0);
            x.Dispose();
            x = next.MoveToOuterDisposeScope();
        }
        return x;
    }
}
