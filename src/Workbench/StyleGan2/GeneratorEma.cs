using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// Exponential moving average of the generator's weights (Karras et al. 2018; StyleGAN2 samples and FIDs use it):
/// θ_ema ← β θ_ema + (1 − β) θ with β = 0.5^(batch / half-life-in-images), and buffers (w_avg, constant noise)
/// copied. β = 0 copies the weights. (A minimal local version; <c>Workbench.Training.Ema</c> was not on main yet.)
/// </summary>
public static class GeneratorEma
{
    /// <summary>β for a batch of <paramref name="batchSize"/> images and a half-life in images (optionally ramped
    /// up: half-life ≤ rampup × images seen, the official ema_rampup).</summary>
    public static double Beta(int batchSize, double halfLifeImages, double? rampup = null, double imagesSeen = 0)
    {
        double h = halfLifeImages;
        if (rampup is double r) h = Math.Min(h, imagesSeen * r);
        return h <= 0 ? 0.0 : Math.Pow(0.5, batchSize / h);
    }

    /// <summary>target ← β target + (1 − β) source for parameters; buffers copied.</summary>
    public static void Update(nn.Module target, nn.Module source, double beta)
    {
        using var _ = no_grad();
        var src = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in target.named_parameters())
        {
            if (!src.TryGetValue(name, out var s)) throw new ArgumentException($"GeneratorEma: source has no parameter '{name}'");
            if (beta == 0) p.copy_(s);
            else p.mul_(beta).add_(s, alpha: 1 - beta);
        }
        var srcBuf = source.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, b) in target.named_buffers())
            if (srcBuf.TryGetValue(name, out var s)) b.copy_(s);
    }
}
