using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// PixelCNN's residual block (van den Oord et al. 2016a, Section 3.4, Figure 5): ReLU, 1×1 conv 2h → h, ReLU, k×k conv
/// h → h, ReLU, 1×1 conv h → 2h, added to the input. Every convolution is mask B with the image's channel groups, so the
/// block keeps the autoregressive order.
/// </summary>
public sealed class PixelCnnResidualBlock : nn.Module<Tensor, Tensor>
{
    readonly MaskedConv2d reduce;
    readonly MaskedConv2d conv;
    readonly MaskedConv2d expand;

    public PixelCnnResidualBlock(long features, int kernel, long groups) : base(nameof(PixelCnnResidualBlock))
    {
        reduce = new MaskedConv2d(features, features / 2, 1, MaskType.B, groups);
        conv = new MaskedConv2d(features / 2, features / 2, kernel, MaskType.B, groups);
        expand = new MaskedConv2d(features / 2, features, 1, MaskType.B, groups);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = reduce.call(nn.functional.relu(x));
        h = conv.call(nn.functional.relu(h));
        h = expand.call(nn.functional.relu(h));
        return (x + h).MoveToOuterDisposeScope();
    }
}
