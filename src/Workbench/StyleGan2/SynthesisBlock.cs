using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// One resolution of the skip-architecture synthesis network (StyleGAN2 Section 4.1, Fig. 7b). The 4x4 block
/// starts from the learned constant and has one style layer; every other block has an upsampling style layer and
/// a plain one. Each block ends in a tRGB whose output is added to the FIR-upsampled image of the block below.
/// Uses NumConv + 1 consecutive w's: its convolutions' and, shared with the next block's first layer, its tRGB.
/// </summary>
public sealed class SynthesisBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ConstantInput? constant;
    private readonly SynthesisLayer? conv0;
    private readonly SynthesisLayer conv1;
    private readonly ToRgb torgb;
    private readonly Tensor fir;

    public SynthesisBlock(long inChannels, long outChannels, int wDim, int resolution, int imageChannels, bool demodulate, bool fused = true)
        : base(nameof(SynthesisBlock))
    {
        Resolution = resolution;
        if (resolution == 4) constant = new ConstantInput(outChannels);
        else conv0 = new SynthesisLayer(inChannels, outChannels, wDim, resolution, up: true, demodulate: demodulate, fused: fused);
        conv1 = new SynthesisLayer(outChannels, outChannels, wDim, resolution, demodulate: demodulate, fused: fused);
        torgb = new ToRgb(outChannels, imageChannels, wDim, fused);
        fir = FirFilter.Create(FirFilter.Binomial4);
        register_buffer("fir", fir, persistent: false);
        RegisterComponents();
    }

    public int Resolution { get; }

    /// <summary>Convolution layers of this block (1 at 4x4, else 2).</summary>
    public int NumConv => constant is null ? 2 : 1;

    public IEnumerable<SynthesisLayer> Layers => conv0 is null ? new[] { conv1 } : new[] { conv0, conv1 };

    public override Tensor forward(Tensor x, Tensor ws) => throw new NotSupportedException("call Forward(x, img, ws, mode)");

    /// <summary>
    /// x: features from the block below (ignored at 4x4), img: the running image (null at 4x4), ws: [N, NumConv + 1, wDim].
    /// Returns the new features and the new image.
    /// </summary>
    public (Tensor X, Tensor Img) Forward(Tensor? x, Tensor? img, Tensor ws, NoiseMode mode)
    {
        using var scope = NewDisposeScope();
        int i = 0;
        Tensor h = constant is not null ? constant.call(ws.shape[0]) : conv0!.Forward(x!, ws[.., i++], mode);
        h = conv1.Forward(h, ws[.., i++], mode);
        var rgb = torgb.call(h, ws[.., i]);
        var newImg = img is null ? rgb : Upfirdn2d.Upsample(img, fir) + rgb;
        return (h.MoveToOuterDisposeScope(), newImg.MoveToOuterDisposeScope());
    }
}
