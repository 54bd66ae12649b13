using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// A convolution whose kernel, viewed as a matrix [O, I·k·k], is divided by its largest singular value (Miyato et al.
/// 2018, Section 2.1 and Appendix C.1 for convolutions), σ from <see cref="Nn.SpectralNorm"/>: one power iteration per
/// forward pass in training mode, none in eval mode. With <c>spectralNorm</c> off it is the plain convolution.
/// </summary>
public sealed class SnConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly Nn.SpectralNorm? sn;
    readonly long stride, padding;

    public SnConv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, bool spectralNorm, bool bias = true)
        : base(nameof(SnConv2d))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: bias);
        this.stride = stride;
        this.padding = padding;
        if (spectralNorm) sn = Nn.SpectralNorm.For(conv.weight!);
        RegisterComponents();
    }

    /// <summary>The inner convolution (its kernel is the unnormalised one).</summary>
    public Conv2d Inner => conv;

    /// <summary>The kernel the layer applies: W / σ(W) with spectral normalisation (no power iteration here), W without.</summary>
    public Tensor Weight => sn is null ? conv.weight! : conv.weight! / sn.Sigma(conv.weight!, 0);

    public override Tensor forward(Tensor x)
    {
        if (sn is null) return conv.forward(x);
        var w = conv.weight!;
        return nn.functional.conv2d(x, w / sn.Sigma(w, training ? 1 : 0), conv.bias,
            strides: new[] { stride, stride }, padding: new[] { padding, padding });
    }
}
