using TorchSharp;
using TorchSharp.Modules;
using Workbench.Autoregressive;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// A k×k convolution masked to be autoregressive over the latent variables of one group, ordered by pixel in raster
/// order and, within a pixel, by channel (PixelCNN-style masks, van den Oord et al. 2016; NVAE's IAF cells use the
/// same kind, Vahdat &amp; Kautz 2020, Section 3.2 / Appendix "normalizing flows"). Each channel has a degree: the
/// z channel it belongs to (hidden channels are spread evenly over the degrees). At kernel taps before the centre
/// every channel may connect; at the centre output degree d sees input degrees &lt; d (strict,
/// the first layer, "mask A") or ≤ d (later layers, "mask B"); taps after the centre are zero. Stacking one strict
/// layer then non-strict ones makes output channel c at pixel p depend only on variables earlier in that order.
/// mirror reverses the order (flipped taps, reversed degrees), so alternating cells see both
/// directions.
/// </summary>
public sealed class AutoregressiveConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly Tensor mask;   // a buffer: it moves with the module

    /// <param name="inChannels">input channels (a multiple or divisor-compatible width of <paramref name="latentChannels"/>).</param>
    /// <param name="outChannels">output channels.</param>
    /// <param name="latentChannels">channels of the latent group that define the degrees.</param>
    /// <param name="kernelSize">odd kernel side.</param>
    /// <param name="strict">mask A (the centre tap excludes the same degree) instead of mask B.</param>
    /// <param name="mirror">reverse the autoregressive order.</param>
    public AutoregressiveConv2d(long inChannels, long outChannels, long latentChannels, int kernelSize = 3, bool strict = false, bool mirror = false)
        : base(nameof(AutoregressiveConv2d))
    {
        if (kernelSize % 2 != 1) throw new ArgumentException($"kernelSize must be odd, got {kernelSize}", nameof(kernelSize));
        if (inChannels < latentChannels || outChannels < latentChannels)
            throw new ArgumentException($"AutoregressiveConv2d needs at least latentChannels = {latentChannels} channels in and out, got {inChannels} → {outChannels}");
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, padding: kernelSize / 2);
        mask = BuildMask(inChannels, outChannels, latentChannels, kernelSize, strict, mirror);
        RegisterComponents();
        using (no_grad()) conv.weight!.mul_(mask);
    }

    /// <summary>The degree (z channel index) of channel i of a layer with <paramref name="channels"/> channels.</summary>
    public static long Degree(long i, long channels, long latentChannels) => MaskedConv2d.Degree(i, channels, latentChannels);

    /// <summary>PixelCNN's raster mask (<see cref="MaskedConv2d.BuildMask"/>) with the latent channels as the groups.</summary>
    static Tensor BuildMask(long cin, long cout, long cz, int k, bool strict, bool mirror) =>
        MaskedConv2d.BuildMask(cin, cout, cz, k, k, strict ? MaskType.A : MaskType.B, MaskRegion.Raster, mirror);

    public override Tensor forward(Tensor x) =>
        nn.functional.conv2d(x, conv.weight! * mask, conv.bias, padding: new[] { conv.padding![0], conv.padding![1] });

    /// <summary>The underlying conv (its weight is masked in the forward pass).</summary>
    public Conv2d Conv => conv;
}
