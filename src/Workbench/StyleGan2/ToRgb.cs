using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// tRGB (StyleGAN2 Fig. 7b): a modulated 1x1 convolution WITHOUT demodulation from features to image channels, plus
/// a bias, no activation. In the skip generator every resolution has one and their outputs are summed.
/// </summary>
public sealed class ToRgb : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModulatedConv2d conv;
    private readonly Parameter bias;

    public ToRgb(long inChannels, int imageChannels, int wDim, bool fused = true) : base(nameof(ToRgb))
    {
        conv = new ModulatedConv2d(inChannels, imageChannels, 1, wDim, demodulate: false, fused: fused);
        bias = nn.Parameter(zeros(imageChannels));
        RegisterComponents();
    }

    public ModulatedConv2d Conv => conv;

    public override Tensor forward(Tensor x, Tensor w)
    {
        using var scope = NewDisposeScope();
        var y = conv.call(x, w) + bias[TensorIndex.None, .., TensorIndex.None, TensorIndex.None];
        return y.MoveToOuterDisposeScope();
    }
}
