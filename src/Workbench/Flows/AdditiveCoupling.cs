using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// NICE's additive coupling (Dinh et al. 2014; Glow, Section 3.3 "additive coupling layer"): split the channels
/// into x_a (first half, kept) and x_b, then y_b = x_b + NN(x_a); volume preserving, log|det| = 0.
/// With a zero-initialised NN it is exactly the identity at initialisation.
/// </summary>
public sealed class AdditiveCoupling : FlowLayer
{
    readonly nn.Module<Tensor, Tensor> net;

    /// <param name="channels">C; the first C/2 (rounded down) condition the rest.</param>
    /// <param name="net">Maps C/2 channels to C - C/2 channels (e.g. <see cref="CouplingNetwork"/>).</param>
    public AdditiveCoupling(long channels, nn.Module<Tensor, Tensor> net) : base(nameof(AdditiveCoupling))
    {
        Channels = channels;
        this.net = net;
        RegisterComponents();
    }

    /// <summary>Glow's convolutional coupling for images with <paramref name="hidden"/> channels.</summary>
    public static AdditiveCoupling ForImages(long channels, long hidden, GlowPadding padding = GlowPadding.Zero) =>
        new(channels, new CouplingNetwork(channels / 2, hidden, channels - channels / 2, padding));

    /// <summary>An MLP coupling for vectors [B, D].</summary>
    public static AdditiveCoupling ForVectors(long features, long hidden) =>
        new(features, new MlpCouplingNetwork(features / 2, hidden, features - features / 2));

    public long Channels { get; }

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Channels, nameof(AdditiveCoupling));
        long ca = Channels / 2;
        var xa = x.narrow(1, 0, ca);
        var xb = x.narrow(1, ca, Channels - ca);
        var y = cat(new[] { xa, xb + net.call(xa) }, 1);
        return (y, zeros(x.shape[0], dtype: x.dtype, device: x.device));
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Channels, nameof(AdditiveCoupling));
        long ca = Channels / 2;
        var ya = y.narrow(1, 0, ca);
        var yb = y.narrow(1, ca, Channels - ca);
        return cat(new[] { ya, yb - net.call(ya) }, 1);
    }
}
