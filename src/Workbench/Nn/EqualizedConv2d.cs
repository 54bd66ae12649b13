using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// A 2-D convolution with the equalized learning rate (ProGAN Section 4.1; StyleGAN2 Appendix B): weight
/// [out, in, k, k] ~ N(0, 1), multiplied at run time by 1 / sqrt(in·k·k). 'Same' padding for odd kernels.
/// Optional FIR downsampling by 2 (blur with the [1,3,3,1] filter, then a stride-2 convolution), as the residual
/// discriminator uses (StyleGAN2 Section 4, Fig. 7c).
/// </summary>
public sealed class EqualizedConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly Tensor? fir;

    public EqualizedConv2d(long inChannels, long outChannels, int kernelSize, bool bias = true, bool down = false,
        double[]? resampleFilter = null)
        : base(nameof(EqualizedConv2d))
    {
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1)
            throw new ArgumentException($"EqualizedConv2d: bad shape in={inChannels}, out={outChannels}, k={kernelSize}");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Down = down;
        WeightGain = 1.0 / Math.Sqrt(inChannels * kernelSize * kernelSize);
        this.weight = nn.Parameter(randn(outChannels, inChannels, kernelSize, kernelSize));
        if (bias) this.bias = nn.Parameter(zeros(outChannels));
        if (down) fir = FirFilter.Create(resampleFilter ?? FirFilter.Binomial4);
        RegisterComponents();
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public int KernelSize { get; }
    public bool Down { get; }

    /// <summary>The run-time multiplier of the stored weight: 1 / sqrt(in·k·k).</summary>
    public double WeightGain { get; }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x)
    {
        Shapes.Expect(x, "EqualizedConv2d: x", "N", InChannels, "H", "W");
        using var scope = NewDisposeScope();
        var w = weight * WeightGain;
        Tensor y;
        if (!Down)
        {
            long p = KernelSize / 2;
            y = nn.functional.conv2d(x, w, bias, padding: new[] { p, p });
        }
        else
        {
            // Blur so that the stride-2 convolution sees a low-passed signal (Zhang 2019; StyleGAN2 Appendix B).
            y = nn.functional.conv2d(Upfirdn2d.BlurBeforeStridedConv(x, fir!, KernelSize), w, bias, strides: new long[] { 2, 2 });
        }
        return y.MoveToOuterDisposeScope();
    }
}
