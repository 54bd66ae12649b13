using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// Modulated convolution with weight demodulation (StyleGAN2 Section 2.2, Eqs. 1–3, Fig. 2d). A learned affine map
/// (the "A" box, an equalized linear layer with bias initialised to 1) turns w into per-input-channel styles s;
/// the weights are modulated, w'_{ijk} = s_i · w_{ijk} (Eq. 1), and, when <see cref="Demodulate"/> is on,
/// demodulated, w''_{ijk} = w'_{ijk} / sqrt(Σ_{i,k} w'_{ijk}² + ε) (Eq. 3), which restores unit standard deviation
/// of the outputs for unit-variance i.i.d. inputs (Eq. 2) without normalising the feature maps themselves: the
/// replacement for AdaIN that removes the droplet artifacts. All samples of a batch run as ONE grouped
/// convolution: the batch is folded into the channel axis and each sample's weights form one group.
/// With <c>up = 2</c> the layer is a stride-2 transposed convolution followed by a [1,3,3,1] FIR blur (gain 4).
/// </summary>
public sealed class ModulatedConv2d : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly EqualizedLinear affine;
    private readonly Tensor? fir;

    public const double Epsilon = 1e-8;

    public ModulatedConv2d(long inChannels, long outChannels, int kernelSize, int wDim, bool demodulate = true, int up = 1,
        double[]? resampleFilter = null, bool fused = true)
        : base(nameof(ModulatedConv2d))
    {
        if (up is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(up), up, "ModulatedConv2d supports up = 1 or 2");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Demodulate = demodulate;
        Up = up;
        Fused = fused;
        WeightGain = 1.0 / Math.Sqrt(inChannels * kernelSize * kernelSize);
        weight = nn.Parameter(randn(outChannels, inChannels, kernelSize, kernelSize));
        affine = new EqualizedLinear(wDim, inChannels, bias: true, biasInit: 1.0);
        if (up > 1) fir = FirFilter.Create(resampleFilter ?? FirFilter.Binomial4);
        RegisterComponents();
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public int KernelSize { get; }
    public bool Demodulate { get; }
    public int Up { get; }

    /// <summary>
    /// True (default): one grouped convolution with per-sample weights. False: the mathematically identical
    /// "non-fused" form the official code uses while training, conv(x ⊙ s, W) ⊙ d with the shared weight, which
    /// is about twice as fast on a CPU (plain instead of grouped kernels).
    /// </summary>
    public bool Fused { get; set; }

    /// <summary>Equalized-lr multiplier of the stored weight, 1 / sqrt(in·k·k).</summary>
    public double WeightGain { get; }

    /// <summary>The affine map A: w → s.</summary>
    public EqualizedLinear Affine => affine;

    public Parameter Weight => weight;

    /// <summary>Styles s = A(w): [N, in].</summary>
    public Tensor Styles(Tensor w) => affine.call(w);

    /// <summary>Per-sample weights [N, out, in, k, k]: modulated (Eq. 1) and, if on, demodulated (Eq. 3).</summary>
    public Tensor ModulatedWeights(Tensor styles)
    {
        using var scope = NewDisposeScope();
        var wgt = (weight * WeightGain)[TensorIndex.None] * styles[.., TensorIndex.None, .., TensorIndex.None, TensorIndex.None];
        if (Demodulate)
        {
            var d = (wgt.square().sum(new long[] { 2, 3, 4 }) + Epsilon).rsqrt();    // [N, out]
            wgt = wgt * d[.., .., TensorIndex.None, TensorIndex.None, TensorIndex.None];
        }
        return wgt.MoveToOuterDisposeScope();
    }

    /// <summary>The layer's output for input x [N, in, H, W] and w [N, wDim].</summary>
    public override Tensor forward(Tensor x, Tensor w) => Convolve(x, Styles(w));

    /// <summary>The convolution for given styles s [N, in] (one grouped convolution over the batch).</summary>
    public Tensor Convolve(Tensor x, Tensor styles)
    {
        Shapes.Expect(x, "ModulatedConv2d: x", "N", InChannels, "H", "W");
        long n = x.shape[0], h = x.shape[2], wd = x.shape[3];
        Shapes.Expect(styles, "ModulatedConv2d: styles", n, InChannels);
        using var scope = NewDisposeScope();
        if (!Fused) return ConvolveUnfused(x, styles).MoveToOuterDisposeScope();
        var wgt = ModulatedWeights(styles);                                    // [N, out, in, k, k]
        var xs = x.reshape(1, n * InChannels, h, wd);                          // batch folded into channels
        Tensor y;
        if (Up == 1)
        {
            long p = KernelSize / 2;
            y = nn.functional.conv2d(xs, wgt.reshape(n * OutChannels, InChannels, KernelSize, KernelSize),
                padding: new[] { p, p }, groups: n);
        }
        else
        {
            // Transposed convolution with stride 2 (weights laid out [N·in, out, k, k]), then the FIR blur that
            // makes it a proper 2x upsampling (Appendix B).
            var wt = wgt.transpose(1, 2).reshape(n * InChannels, OutChannels, KernelSize, KernelSize);
            y = Upfirdn2d.BlurAfterTransposedConv(nn.functional.conv_transpose2d(xs, wt, strides: new long[] { 2, 2 }, groups: n), fir!, KernelSize);
        }
        return y.reshape(n, OutChannels, y.shape[2], y.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>conv(x ⊙ s, W·gain) ⊙ d: scaling the inputs by s is modulating the weights; d is Eq. 3's factor.</summary>
    private Tensor ConvolveUnfused(Tensor x, Tensor styles)
    {
        var wgt = weight * WeightGain;                                         // [out, in, k, k]
        var xs = x * styles[.., .., TensorIndex.None, TensorIndex.None];
        Tensor y;
        if (Up == 1)
        {
            long p = KernelSize / 2;
            y = nn.functional.conv2d(xs, wgt, padding: new[] { p, p });
        }
        else
        {
            y = Upfirdn2d.BlurAfterTransposedConv(nn.functional.conv_transpose2d(xs, wgt.transpose(0, 1), strides: new long[] { 2, 2 }), fir!, KernelSize);
        }
        if (Demodulate)
        {
            // Σ_{i,k} (w_{jik} s_i)² = Σ_i s_i² Σ_k w_{jik}²: [N, out].
            var d = (styles.square().matmul(wgt.square().sum(new long[] { 2, 3 }).t()) + Epsilon).rsqrt();
            y = y * d[.., .., TensorIndex.None, TensorIndex.None];
        }
        return y;
    }
}
