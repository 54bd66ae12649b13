using TorchSharp;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Flows;

/// <summary>
/// Space-to-depth (RealNVP's squeezing; Glow, Figure 2b): [B, C, H, W] to [B, 4C, H/2, W/2], each 2x2 block of a
/// channel becoming 4 channels (channel index c*4 + 2*dy + dx). A permutation of the entries: log|det| = 0.
/// </summary>
public sealed class Squeeze : FlowLayer
{
    public Squeeze() : base(nameof(Squeeze)) { RegisterComponents(); }

    public static Tensor Apply(Tensor x)
    {
        if (x.dim() != 4 || x.shape[2] % 2 != 0 || x.shape[3] % 2 != 0)
            throw new ArgumentException($"Squeeze: expected [B, C, H, W] with even H and W, got {Shapes.Of(x)}");
        long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        return x.view(b, c, h / 2, 2, w / 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h / 2, w / 2);
    }

    public static Tensor Unapply(Tensor y)
    {
        if (y.dim() != 4 || y.shape[1] % 4 != 0)
            throw new ArgumentException($"Squeeze.Inverse: expected [B, 4C, H, W], got {Shapes.Of(y)}");
        long b = y.shape[0], c = y.shape[1] / 4, h = y.shape[2], w = y.shape[3];
        return y.view(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, h * 2, w * 2);
    }

    public override (Tensor Y, Tensor LogDet) forward(Tensor x) =>
        (Apply(x), zeros(x.shape[0], dtype: x.dtype, device: x.device));

    public override Tensor Inverse(Tensor y) => Unapply(y);
}
