using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// One resolution of the residual discriminator (StyleGAN2 Section 4.1, Fig. 7c): 3x3 conv, 3x3 conv with FIR
/// downsampling, and a skip path (FIR downsample + 1x1 conv, no bias); the two are summed and scaled by 1/√2 so
/// the residual sum keeps the signal's variance. The top block also holds the fRGB (1x1 conv) that reads the image.
/// </summary>
public sealed class DiscriminatorBlock : nn.Module<Tensor, Tensor>
{
    private readonly EqualizedConv2d? fromrgb;
    private readonly EqualizedConv2d conv0;
    private readonly EqualizedConv2d conv1;
    private readonly EqualizedConv2d skip;

    public static readonly double ResidualScale = 1.0 / Math.Sqrt(2.0);

    public DiscriminatorBlock(long inChannels, long outChannels, int resolution, int imageChannels = 0)
        : base(nameof(DiscriminatorBlock))
    {
        Resolution = resolution;
        if (imageChannels > 0) fromrgb = new EqualizedConv2d(imageChannels, inChannels, 1);
        conv0 = new EqualizedConv2d(inChannels, inChannels, 3);
        conv1 = new EqualizedConv2d(inChannels, outChannels, 3, down: true);
        skip = new EqualizedConv2d(inChannels, outChannels, 1, bias: false, down: true);
        RegisterComponents();
    }

    public int Resolution { get; }
    public bool ReadsImage => fromrgb is not null;

    /// <summary>x: features [N, in, R, R] (or the image, for the top block) → [N, out, R/2, R/2].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (fromrgb is not null) x = ScaledLeakyRelu.Apply(fromrgb.call(x));
        var y = skip.call(x);
        var h = ScaledLeakyRelu.Apply(conv0.call(x));
        h = ScaledLeakyRelu.Apply(conv1.call(h));
        return ((y + h) * ResidualScale).MoveToOuterDisposeScope();
    }
}
