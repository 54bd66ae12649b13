using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// upfirdn2d in plain TorchSharp ops: upsample by zero insertion, pad (negative pads crop), convolve with a 2-D
/// FIR filter (a true convolution: the filter is flipped), then keep every down-th sample. This is the resampling
/// operator of StyleGAN2 (Appendix B); the CUDA kernel of the official code fuses the same steps.
/// <para>Output size per axis: floor((in·up + pad0 + pad1 − k) / down) + 1.</para>
/// </summary>
public static class Upfirdn2d
{
    /// <param name="x">[N, C, H, W].</param>
    /// <param name="up">Upsampling factor (zero insertion).</param>
    /// <param name="down">Downsampling factor (keep every down-th sample).</param>
    /// <param name="filter">[kh, kw] FIR kernel (see <see cref="FirFilter.Create"/>).</param>
    /// <param name="pad">(x0, x1, y0, y1): padding left, right, top, bottom after zero insertion.</param>
    /// <param name="gain">Multiplies the filter; up² keeps a constant image constant when upsampling.</param>
    public static Tensor Apply(Tensor x, Tensor filter, int up = 1, int down = 1,
        (long X0, long X1, long Y0, long Y1) pad = default, double gain = 1.0)
    {
        if (x.dim() != 4) throw new ArgumentException($"upfirdn2d: expected [N, C, H, W], got {Shapes.Of(x)}");
        if (filter.dim() != 2) throw new ArgumentException($"upfirdn2d: filter must be 2-D, got {Shapes.Of(filter)}");
        if (up < 1 || down < 1) throw new ArgumentException($"upfirdn2d: up={up} and down={down} must be >= 1");
        using var scope = NewDisposeScope();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var y = x;
        if (up > 1)
        {
            // Zero insertion: every sample followed by up-1 zeros along each axis.
            y = y.reshape(n, c, h, 1, w, 1);
            y = nn.functional.pad(y, new long[] { 0, up - 1, 0, 0, 0, up - 1 });
            y = y.reshape(n, c, h * up, w * up);
        }
        // Positive pads add zeros; negative pads crop.
        y = nn.functional.pad(y, new[] { Math.Max(pad.X0, 0), Math.Max(pad.X1, 0), Math.Max(pad.Y0, 0), Math.Max(pad.Y1, 0) });
        long hh = y.shape[2], ww = y.shape[3];
        y = y[.., .., (int)Math.Max(-pad.Y0, 0)..(int)(hh - Math.Max(-pad.Y1, 0)), (int)Math.Max(-pad.X0, 0)..(int)(ww - Math.Max(-pad.X1, 0))];
        // conv2d is a correlation, so flip the filter to convolve; one filter per channel (depthwise).
        var f = (filter.flip(0, 1) * gain).to(x.dtype).to(x.device);
        var weight = f[TensorIndex.None, TensorIndex.None].expand(c, 1, f.shape[0], f.shape[1]).contiguous(); // contiguous: the CPU depthwise kernels take a faster path on a contiguous weight
        y = nn.functional.conv2d(y, weight, groups: c);
        if (down > 1) y = y[.., .., TensorIndex.Slice(null, null, down), TensorIndex.Slice(null, null, down)];
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>FIR upsampling by <paramref name="factor"/> with gain factor² (output [N, C, H·factor, W·factor]).</summary>
    public static Tensor Upsample(Tensor x, Tensor filter, int factor = 2)
    {
        long fw = filter.shape[^1];
        long p0 = (fw + factor - 1) / 2, p1 = (fw - factor) / 2;
        return Apply(x, filter, up: factor, pad: (p0, p1, p0, p1), gain: factor * factor);
    }

    /// <summary>
    /// The FIR blur that turns a stride-2 transposed convolution with a k×k kernel into a proper 2× upsampling
    /// (StyleGAN2 Appendix B): the convolution's output side 2H + k − 2 is padded and filtered back to 2H, with gain 4.
    /// </summary>
    public static Tensor BlurAfterTransposedConv(Tensor y, Tensor filter, long kernelSize)
    {
        long p = (filter.shape[^1] - 2) - (kernelSize - 1);
        long p0 = (p + 1) / 2 + 1, p1 = p / 2 + 1;
        return Apply(y, filter, pad: (p0, p1, p0, p1), gain: 4);
    }

    /// <summary>
    /// The FIR blur before a stride-2 k×k convolution (StyleGAN2 Appendix B, after Zhang 2019): padded by the filter's
    /// support plus the kernel's, so that the strided convolution without padding gives H/2.
    /// </summary>
    public static Tensor BlurBeforeStridedConv(Tensor x, Tensor filter, long kernelSize)
    {
        long p = (filter.shape[^1] - 2) + (kernelSize - 1);
        long p0 = (p + 1) / 2, p1 = p / 2;
        return Apply(x, filter, pad: (p0, p1, p0, p1));
    }

    /// <summary>FIR downsampling by <paramref name="factor"/> (output [N, C, H/factor, W/factor]).</summary>
    public static Tensor Downsample(Tensor x, Tensor filter, int factor = 2)
    {
        long fw = filter.shape[^1];
        long p0 = (fw - factor + 1) / 2, p1 = (fw - factor) / 2;
        return Apply(x, filter, down: factor, pad: (p0, p1, p0, p1));
    }
}
