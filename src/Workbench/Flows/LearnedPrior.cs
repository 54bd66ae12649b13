using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// The prior at the top of the multi-scale architecture: N(mean, exp(logs)^2) with learned, zero-initialised
/// mean and log-std per position and channel (Glow's "learntop"), or the fixed N(0, I) when not learned.
/// Written as a flow layer to standardised noise: eps = (z - mean) / exp(logs), log|det| = -sum(logs).
/// With <see cref="GlowPadding.Ones"/> (glow-pytorch's top prior, model.py <c>Block</c> without split; openai/glow's
/// learntop is the same construction with its edge padding) mean and logs are not free per position: they are the two
/// halves of a <see cref="ZeroConv2d"/> (ones padding) applied to zeros [1, C, H, W], so they depend on the position
/// only near the border.
/// </summary>
public sealed class LearnedPrior : FlowLayer
{
    readonly Parameter? mean;
    readonly Parameter? logs;
    readonly ZeroConv2d? conv;

    /// <summary>A prior over latents [C, H, W]; learned or N(0, I). Only <see cref="GlowPadding.Ones"/> as
    /// <paramref name="padding"/> changes it (to a convolution of zeros), and only when learned.</summary>
    public LearnedPrior(long channels, long height, long width, bool learn = true, GlowPadding padding = GlowPadding.Zero) : base(nameof(LearnedPrior))
    {
        Shape = new[] { channels, height, width };
        Learned = learn;
        if (learn && padding == GlowPadding.Ones) conv = new ZeroConv2d(channels, 2 * channels, GlowPadding.Ones);
        else
        {
            mean = nn.Parameter(zeros(1, channels, height, width), requires_grad: learn);
            logs = nn.Parameter(zeros(1, channels, height, width), requires_grad: learn);
        }
        RegisterComponents();
    }

    /// <summary>The prior's mean and log-std [1, C, H, W].</summary>
    public (Tensor Mean, Tensor LogS) MeanLogS()
    {
        if (conv is null) return (mean!, logs!);
        var h = conv.call(zeros(new long[] { 1, Shape[0], Shape[1], Shape[2] }, dtype: conv.parameters().First().dtype, device: conv.parameters().First().device));
        return (h.narrow(1, 0, Shape[0]), h.narrow(1, Shape[0], Shape[0]));
    }

    public long[] Shape { get; }
    public bool Learned { get; }

    public override (Tensor Y, Tensor LogDet) forward(Tensor z)
    {
        var (m, l) = MeanLogS();
        return ((z - m) * (-l).exp(), Broadcast(-l.sum(), z));
    }

    public override Tensor Inverse(Tensor eps)
    {
        var (m, l) = MeanLogS();
        return m + l.exp() * eps;
    }
}
