using TorchSharp;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Tests.Fidelity;

/// <summary>
/// EqualizedConv2d with down = true against the StyleGAN2 reference (conv2d_resample, down = 2): pad the input by
/// p0 = ⌈p/2⌉ before and p1 = ⌊p/2⌋ after, p = (4 − 2) + (k − 1), blur with the normalised [1,3,3,1]⊗[1,3,3,1]
/// filter, then a stride-2 convolution with weight · 1/sqrt(in·k·k), plus the bias. The reference is written
/// out as loops over doubles.
/// </summary>
public class EqualizedConvDownsampleTests
{
    static TorchSharp.Modules.Parameter Bias(EqualizedConv2d conv) => conv.named_parameters().Single(p => p.name == "bias").parameter;

    static double[,,,] ToArray4(Tensor t)
    {
        var s = t.shape;
        var flat = t.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var r = new double[s[0], s[1], s[2], s[3]];
        int idx = 0;
        for (int a = 0; a < s[0]; a++) for (int b = 0; b < s[1]; b++) for (int c = 0; c < s[2]; c++) for (int d = 0; d < s[3]; d++) r[a, b, c, d] = flat[idx++];
        return r;
    }

    static double[,,,] Reference(double[,,,] x, double[,,,] wt, double[] bias, int k)
    {
        int n = x.GetLength(0), cin = x.GetLength(1), hin = x.GetLength(2), win = x.GetLength(3), cout = wt.GetLength(0);
        double[] taps = { 1 / 8.0, 3 / 8.0, 3 / 8.0, 1 / 8.0 };
        int p = 2 + (k - 1), p0 = (p + 1) / 2, p1 = p / 2;
        int hb = hin + p0 + p1 - 3, wb = win + p0 + p1 - 3;
        var blurred = new double[n, cin, hb, wb];
        for (int a = 0; a < n; a++) for (int c = 0; c < cin; c++) for (int i = 0; i < hb; i++) for (int j = 0; j < wb; j++)
        {
            double s = 0;
            for (int u = 0; u < 4; u++) for (int v = 0; v < 4; v++)
            {
                int yi = i + u - p0, xj = j + v - p0;
                if (yi >= 0 && yi < hin && xj >= 0 && xj < win) s += taps[u] * taps[v] * x[a, c, yi, xj];
            }
            blurred[a, c, i, j] = s;
        }
        int ho = (hb - k) / 2 + 1, wo = (wb - k) / 2 + 1;
        double gain = 1 / Math.Sqrt(cin * k * k);
        var y = new double[n, cout, ho, wo];
        for (int a = 0; a < n; a++) for (int o = 0; o < cout; o++) for (int i = 0; i < ho; i++) for (int j = 0; j < wo; j++)
        {
            double s = bias[o];
            for (int c = 0; c < cin; c++) for (int u = 0; u < k; u++) for (int v = 0; v < k; v++)
                s += gain * wt[o, c, u, v] * blurred[a, c, 2 * i + u, 2 * j + v];
            y[a, o, i, j] = s;
        }
        return y;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void DownsamplingMatchesTheReferenceValues(int k)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var conv = new EqualizedConv2d(2, 3, k, bias: true, down: true);
        conv.to(ScalarType.Float64);
        using (no_grad()) Bias(conv).copy_(randn(3)); // the bias
        var x = randn(2, 2, 8, 8, dtype: ScalarType.Float64);
        var y = ToArray4(conv.call(x));
        var expected = Reference(ToArray4(x), ToArray4(conv.Weight), Bias(conv).to(ScalarType.Float64).data<double>().ToArray(), k);
        Assert.Equal(expected.GetLength(2), y.GetLength(2));
        Assert.Equal(expected.GetLength(3), y.GetLength(3));
        double worst = 0;
        foreach (var (e, a) in expected.Cast<double>().Zip(y.Cast<double>())) worst = Math.Max(worst, Math.Abs(e - a));
        Assert.True(worst < 1e-10, $"k={k}: largest difference from the reference {worst}");
    }

    /// <summary>A centred resampler commutes with mirroring: down(flip(x)) with flipped taps = flip(down(x)).</summary>
    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void DownsamplingIsCentred(int k)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var conv = new EqualizedConv2d(1, 1, k, bias: false, down: true);
        conv.to(ScalarType.Float64);
        var x = randn(1, 1, 8, 8, dtype: ScalarType.Float64);
        var y = conv.call(x);
        using (no_grad()) conv.Weight.copy_(conv.Weight.flip(2, 3));
        var yMirrored = conv.call(x.flip(2, 3)).flip(2, 3);
        double diff = (y - yMirrored).abs().max().item<double>();
        Assert.True(diff < 1e-10, $"k={k}: mirrored input gives a shifted output (largest difference {diff})");
    }
}
