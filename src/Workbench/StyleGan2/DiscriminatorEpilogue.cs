using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// The 4x4 end of the discriminator (as in StyleGAN/ProGAN): minibatch standard deviation (group 4, 1 feature),
/// 3x3 conv, fully connected layer, and the final linear output (one logit per image).
/// </summary>
public sealed class DiscriminatorEpilogue : nn.Module<Tensor, Tensor>
{
    private readonly MinibatchStdDev mbstd;
    private readonly EqualizedConv2d conv;
    private readonly EqualizedLinear fc;
    private readonly EqualizedLinear output;

    public DiscriminatorEpilogue(long channels, int mbstdGroupSize = 4, int mbstdFeatures = 1) : base(nameof(DiscriminatorEpilogue))
    {
        mbstd = new MinibatchStdDev(mbstdGroupSize, mbstdFeatures);
        conv = new EqualizedConv2d(channels + mbstdFeatures, channels, 3);
        fc = new EqualizedLinear(channels * 16, channels);
        output = new EqualizedLinear(channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = mbstd.call(x);
        h = ScaledLeakyRelu.Apply(conv.call(h));
        h = ScaledLeakyRelu.Apply(fc.call(h.flatten(1)));
        return output.call(h).squeeze(1).MoveToOuterDisposeScope();
    }
}
