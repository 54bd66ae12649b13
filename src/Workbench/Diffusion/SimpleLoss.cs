using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDPM's simplified objective (Ho et al. 2020, §3.4, Eq. 14; Algorithm 1):
/// L_simple = E_{t, x_0, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖², t uniform on {1 … T}, ε ~ N(0, I) — the bound's
/// terms without their weights. Returned per example as the mean squared error over the dimensions, [B].
/// </summary>
public static class SimpleLoss
{
    /// <summary>Per-example L_simple for given timesteps t [B] and noise ε (shaped like x_0).</summary>
    public static Tensor PerExample(ForwardProcess q, Func<Tensor, Tensor, Tensor> eps, Tensor x0, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var xt = q.QSample(x0, t, noise);
        var diff = eps(xt, t) - noise;
        return (diff * diff).flatten(1).mean(new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>Algorithm 1, one draw: t uniform on 0 … T−1 and ε ~ N(0, I) from libtorch's generator (or
    /// <paramref name="generator"/>); returns the batch mean of <see cref="PerExample"/>.</summary>
    public static Tensor Sample(ForwardProcess q, Func<Tensor, Tensor, Tensor> eps, Tensor x0, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var t = randint(0, q.Timesteps, new long[] { x0.shape[0] }, generator: generator, device: x0.device);
        var noise = randn(x0.shape, dtype: x0.dtype, device: x0.device, generator: generator);
        return PerExample(q, eps, x0, t, noise).mean().MoveToOuterDisposeScope();
    }
}
