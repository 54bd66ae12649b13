using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// The affine coupling layer (RealNVP; Glow, Section 3.3, Table 1 row 3): split into x_a (kept) and x_b,
/// (shift, h) = NN(x_a), scale = sigmoid(h + 2), y_b = (x_b + shift) * scale; log|det| = sum(log scale).
/// The sigmoid (Glow's code) keeps the scale in (0, 1) and stabilises training. With a zero-initialised NN the
/// layer starts as a fixed contraction y_b = sigmoid(2) * x_b (not the identity, as in Glow's code).
/// </summary>
public sealed class AffineCoupling : FlowLayer
{
    readonly nn.Module<Tensor, Tensor> net;

    /// <param name="channels">C; the first C/2 (rounded down) condition the rest.</param>
    /// <param name="net">Maps C/2 channels to 2 * (C - C/2) channels: shift then scale logits.</param>
    public AffineCoupling(long channels, nn.Module<Tensor, Tensor> net) : base(nameof(AffineCoupling))
    {
        Channels = channels;
        this.net = net;
        RegisterComponents();
    }

    public static AffineCoupling ForImages(long channels, long hidden, GlowPadding padding = GlowPadding.Zero) =>
        new(channels, new CouplingNetwork(channels / 2, hidden, 2 * (channels - channels / 2), padding));

    public static AffineCoupling ForVectors(long features, long hidden) =>
        new(features, new MlpCouplingNetwork(features / 2, hidden, 2 * (features - features / 2)));

    public long Channels { get; }

    (Tensor Shift, Tensor Scale) ShiftScale(Tensor xa)
    {
        long cb = Channels - Channels / 2;
        var h = net.call(xa);
        return (h.narrow(1, 0, cb), nn.functional.sigmoid(h.narrow(1, cb, cb) + 2.0));
    }

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Channels, nameof(AffineCoupling));
        long ca = Channels / 2;
        var xa = x.narrow(1, 0, ca);
        var xb = x.narrow(1, ca, Channels - ca);
        var (shift, scale) = ShiftScale(xa);
        var y = cat(new[] { xa, (xb + shift) * scale }, 1);
        return (y, scale.log().flatten(1).sum(1));
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Channels, nameof(AffineCoupling));
        long ca = Channels / 2;
        var ya = y.narrow(1, 0, ca);
        var yb = y.narrow(1, ca, Channels - ca);
        var (shift, scale) = ShiftScale(ya);
        return cat(new[] { ya, yb / scale - shift }, 1);
    }
}
