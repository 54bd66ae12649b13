using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// The prior at the top of the multi-scale architecture: N(mean, exp(logs)^2) with learned, zero-initialised
/// mean and log-std per position and channel (Glow's "learntop"), or the fixed N(0, I) when not learned.
/// Written as a flow layer to standardised noise: eps = (z - mean) / exp(logs), log|det| = -sum(logs).
/// </summary>
public sealed class LearnedPrior : FlowLayer
{
    readonly Parameter mean;
    readonly Parameter logs;

    public LearnedPrior(long channels, long height, long width, bool learn = true) : base(nameof(LearnedPrior))
    {
        Shape = new[] { channels, height, width };
        Learned = learn;
        mean = nn.Parameter(zeros(1, channels, height, width), requires_grad: learn);
        logs = nn.Parameter(zeros(1, channels, height, width), requires_grad: learn);
        RegisterComponents();
    }

    public long[] Shape { get; }
    public bool Learned { get; }

    public override (Tensor Y, Tensor LogDet) forward(Tensor z) =>
        ((z - mean) * (-logs).exp(), Broadcast(-logs.sum(), z));

    public override Tensor Inverse(Tensor eps) => mean + logs.exp() * eps;
}
