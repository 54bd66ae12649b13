using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// One gated layer of Gated PixelCNN (van den Oord et al. 2016b, Section 2.2-2.3, Figure 2):
/// y = tanh(W_f ∗ x + V_f h) ⊙ σ(W_g ∗ x + V_g h) (Eq. 2, 4) on two stacks. The vertical stack's n×n convolution sees only
/// rows above the pixel (mask A: strictly above; B: the feature map's own row, which itself sees only rows above); the
/// horizontal stack's 1×n convolution sees pixels to the left in the same row, and the current pixel by channel group.
/// The vertical pre-activation feeds the horizontal one through a 1×1 convolution (safe: it only holds rows above), which
/// together removes PixelCNN's blind spot. The horizontal output goes through a 1×1 mask-B convolution and, after the
/// first layer, a residual connection. Class conditioning adds a learned embedding (V h for one-hot h) inside the gates.
/// </summary>
public sealed class GatedPixelCnnLayer : nn.Module
{
    readonly MaskedConv2d vertical;
    readonly MaskedConv2d horizontal;
    readonly Conv2d verticalToHorizontal;
    readonly MaskedConv2d horizontalOut;
    readonly Embedding? condition;
    readonly bool residual;
    readonly long features;

    /// <param name="inChannels">channels of both input stacks (the image's for the first layer).</param>
    /// <param name="features">feature maps p of each stack.</param>
    /// <param name="kernel">odd kernel side n.</param>
    /// <param name="type">mask A for the first layer, B after.</param>
    /// <param name="groups">the image's channel groups.</param>
    /// <param name="classes">classes of the conditioning, 0 for none.</param>
    public GatedPixelCnnLayer(long inChannels, long features, int kernel, MaskType type, long groups, int classes = 0)
        : base(nameof(GatedPixelCnnLayer))
    {
        this.features = features;
        vertical = new MaskedConv2d(inChannels, 2 * features, kernel, kernel, type, groups, MaskRegion.Vertical);
        horizontal = new MaskedConv2d(inChannels, 2 * features, 1, kernel, type, groups, MaskRegion.Raster, outputBlocks: 2);
        verticalToHorizontal = nn.Conv2d(2 * features, 2 * features, 1);
        horizontalOut = new MaskedConv2d(features, features, 1, MaskType.B, groups);
        if (classes > 0) condition = nn.Embedding(classes, 4 * features);
        residual = type == MaskType.B && inChannels == features;
        RegisterComponents();
    }

    /// <summary>The gate tanh(a) ⊙ σ(b) of the two halves of a [B, 2p, H, W] pre-activation.</summary>
    Tensor Gate(Tensor pre) => tanh(pre.narrow(1, 0, features)) * sigmoid(pre.narrow(1, features, features));

    /// <summary>Both stacks one layer on: (v, h) [B, in, H, W] → [B, p, H, W] each; <paramref name="labels"/> [B] (int64)
    /// when the layer is class-conditional.</summary>
    public (Tensor V, Tensor H) Forward(Tensor v, Tensor h, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var vPre = vertical.call(v);
        var hPre = horizontal.call(h) + verticalToHorizontal.call(vPre);
        if (condition is not null)
        {
            if (labels is null) throw new ArgumentException("GatedPixelCnnLayer: labels are required for a class-conditional layer", nameof(labels));
            var e = condition.call(labels).unsqueeze(-1).unsqueeze(-1); // [B, 4p, 1, 1]
            vPre = vPre + e.narrow(1, 0, 2 * features);
            hPre = hPre + e.narrow(1, 2 * features, 2 * features);
        }
        var hOut = horizontalOut.call(Gate(hPre));
        if (residual) hOut = hOut + h;
        return (Gate(vPre).MoveToOuterDisposeScope(), hOut.MoveToOuterDisposeScope());
    }
}
