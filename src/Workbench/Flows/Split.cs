using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// The multi-scale split (RealNVP Section 3.6; Glow, Figure 2b, "split2d"): the first half of the channels z1
/// goes on to the next level, the second half z2 is factored out with a learned conditional Gaussian prior
/// p(z2 | z1) = N(mean, exp(logs)^2), (mean, logs) = ZeroConv2d(z1) (zero-initialised: N(0, 1) at start).
/// We write the factored-out half as standardised noise eps = (z2 - mean) / exp(logs) with log|det| = -sum(logs),
/// so log p(z2 | z1) = log N(eps; 0, I) + log|det|, and sampling at temperature T is z2 = mean + exp(logs) * T * eps.
/// </summary>
public sealed class Split : nn.Module<Tensor, (Tensor Kept, Tensor Eps, Tensor LogDet)>
{
    readonly ZeroConv2d prior;

    public Split(long channels, GlowPadding padding = GlowPadding.Zero) : base(nameof(Split))
    {
        if (channels < 2) throw new ArgumentException($"Split: needs at least 2 channels, got {channels}");
        Channels = channels;
        prior = new ZeroConv2d(channels / 2, 2 * (channels - channels / 2), padding);
        RegisterComponents();
    }

    public long Channels { get; }
    public long KeptChannels => Channels / 2;
    public long FactoredChannels => Channels - Channels / 2;

    (Tensor Mean, Tensor LogS) Prior(Tensor kept)
    {
        var h = prior.call(kept);
        return (h.narrow(1, 0, FactoredChannels), h.narrow(1, FactoredChannels, FactoredChannels));
    }

    public override (Tensor Kept, Tensor Eps, Tensor LogDet) forward(Tensor x)
    {
        var kept = x.narrow(1, 0, KeptChannels);
        var z2 = x.narrow(1, KeptChannels, FactoredChannels);
        var (mean, logs) = Prior(kept);
        var eps = (z2 - mean) * (-logs).exp();
        return (kept, eps, -logs.flatten(1).sum(1));
    }

    /// <summary>Rebuilds the level's output from the kept half and the standardised noise of the other half.</summary>
    public Tensor Inverse(Tensor kept, Tensor eps)
    {
        var (mean, logs) = Prior(kept);
        return cat(new[] { kept, mean + logs.exp() * eps }, 1);
    }
}
