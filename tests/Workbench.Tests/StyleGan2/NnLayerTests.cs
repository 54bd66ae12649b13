using TorchSharp;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

/// <summary>Shared layers StyleGAN2 relies on: equalized lr, upfirdn2d / FIR filters, minibatch stddev.</summary>
public class NnLayerTests
{
    [Fact]
    public void EqualizedLinearStoresUnitNormalWeightsAndScalesThemAtRunTime()
    {
        random.manual_seed(1);
        foreach (var (fanIn, lrMul) in new[] { (64, 1.0), (1024, 1.0), (256, 0.01) })
        {
            using var scope = NewDisposeScope();
            var layer = new EqualizedLinear(fanIn, 256, lrMul: lrMul);
            // Stored weights ~ N(0, 1) / lrMul.
            double storedStd = layer.Weight.std().item<float>();
            Assert.InRange(storedStd * lrMul, 0.95, 1.05);
            // Run time multiplier: He constant times lrMul.
            Assert.Equal(lrMul / Math.Sqrt(fanIn), layer.WeightGain, 12);
            // The defining property: unit-variance inputs give unit-variance outputs whatever the fan-in.
            var x = randn(512, fanIn);
            var y = layer.call(x);
            Assert.InRange(y.std().item<float>(), 0.9, 1.1);
            // And forward is exactly x (W gain)^T + b lrMul.
            using (no_grad()) layer.Bias!.fill_(3.0);
            var expected = x.matmul((layer.Weight * layer.WeightGain).t()) + 3.0 * lrMul;
            Assert.True(allclose(layer.call(x), expected, 1e-5, 1e-5));
        }
    }

    [Fact]
    public void EqualizedLinearLrMultiplierScalesTheEffectiveStep()
    {
        // With lrMul m the same gradient step on the stored weight moves the effective weight m times as much as
        // the stored one relative to its scale: d(effective)/d(stored) = m / sqrt(fan_in).
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var layer = new EqualizedLinear(16, 4, lrMul: 0.01);
        var x = randn(8, 16);
        layer.call(x).sum().backward();
        var gStored = layer.Weight.grad!;
        // dL/dW_stored = gain * dL/dW_eff, dL/dW_eff = sum_n x_n (per output).
        var gEff = x.sum(dim: 0)[TensorIndex.None].expand(4, 16);
        var ratio = (gStored / (gEff * (0.01 / 4.0)));
        Assert.True(allclose(gStored, gEff * (0.01 / 4.0), 1e-4, 1e-6), $"grad ratio {ratio.min().item<float>()}..{ratio.max().item<float>()}");
    }

    [Fact]
    public void EqualizedConv2dKeepsUnitVarianceAndDownsamplesByTwo()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var conv = new EqualizedConv2d(32, 64, 3);
        var x = randn(4, 32, 12, 12);
        var y = conv.call(x)[.., .., 1..^1, 1..^1];
        Assert.InRange(y.std().item<float>(), 0.9, 1.1);
        var down = new EqualizedConv2d(8, 16, 3, down: true);
        Assert.Equal(new long[] { 2, 16, 6, 6 }, down.call(randn(2, 8, 12, 12)).shape);
        var skip = new EqualizedConv2d(8, 16, 1, bias: false, down: true);
        Assert.Equal(new long[] { 2, 16, 6, 6 }, skip.call(randn(2, 8, 12, 12)).shape);
    }

    [Fact]
    public void FirFilterIsNormalisedAndSeparable()
    {
        using var scope = NewDisposeScope();
        var f = FirFilter.Create(FirFilter.Binomial4);
        Assert.Equal(new long[] { 4, 4 }, f.shape);
        Assert.Equal(1.0, f.sum().item<float>(), 6);
        Assert.Equal(9.0 / 64, f[1, 2].item<float>(), 6);
        Assert.Equal(1.0 / 64, f[0, 3].item<float>(), 6);
    }

    /// <summary>upfirdn2d straight from its definition, on doubles: zero-insert, pad, true convolution, decimate.</summary>
    static double[,] Reference(double[,] x, double[,] f, int up, int down, int px0, int px1, int py0, int py1, double gain)
    {
        int h = x.GetLength(0), w = x.GetLength(1), kh = f.GetLength(0), kw = f.GetLength(1);
        int uh = h * up, uw = w * up;
        double U(int a, int b) // upsampled and padded signal at padded coordinates
        {
            int ua = a - py0, ub = b - px0;
            if (ua < 0 || ub < 0 || ua >= uh || ub >= uw) return 0;
            if (ua % up != 0 || ub % up != 0) return 0;
            return x[ua / up, ub / up];
        }
        int ph = uh + py0 + py1, pw = uw + px0 + px1;
        int oh = (ph - kh) / down + 1, ow = (pw - kw) / down + 1;
        var y = new double[oh, ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                double s = 0;
                // True convolution: output at (i, j) of the valid window starting at (i·down, j·down) pairs
                // signal offset (p, q) with filter tap (kh−1−p, kw−1−q).
                for (int p = 0; p < kh; p++)
                    for (int q = 0; q < kw; q++)
                        s += U(i * down + p, j * down + q) * f[kh - 1 - p, kw - 1 - q];
                y[i, j] = s * gain;
            }
        return y;
    }

    [Theory]
    [InlineData(2, 1, 2, 1, 2, 1, 4.0)]   // the generator's upsampling
    [InlineData(1, 2, 1, 1, 1, 1, 1.0)]   // the discriminator's downsampling
    [InlineData(2, 2, 3, 0, 1, 2, 1.5)]   // both at once, asymmetric pads
    [InlineData(1, 1, -1, 2, 0, -1, 1.0)] // negative pads crop
    [InlineData(3, 1, 1, 1, 1, 1, 9.0)]
    public void Upfirdn2dMatchesTheDirectDefinition(int up, int down, int px0, int px1, int py0, int py1, double gain)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        // An asymmetric (non-separable-symmetric) filter, so a missing flip would be caught.
        var f = tensor(new float[,] { { 1, 2, 0 }, { -1, 3, 5 }, { 0.5f, 0, 4 } });
        var x = randn(2, 3, 5, 6, dtype: ScalarType.Float64);
        var y = Upfirdn2d.Apply(x, f, up, down, (px0, px1, py0, py1), gain);
        var fd = new double[3, 3];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) fd[i, j] = f[i, j].item<float>();
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
            {
                var xs = new double[5, 6];
                for (int i = 0; i < 5; i++) for (int j = 0; j < 6; j++) xs[i, j] = x[n, c, i, j].item<double>();
                var r = Reference(xs, fd, up, down, px0, px1, py0, py1, gain);
                Assert.Equal(new long[] { r.GetLength(0), r.GetLength(1) }, new[] { y.shape[2], y.shape[3] });
                for (int i = 0; i < r.GetLength(0); i++)
                    for (int j = 0; j < r.GetLength(1); j++)
                        Assert.Equal(r[i, j], y[n, c, i, j].item<double>(), 9);
            }
    }

    [Fact]
    public void FirResamplingKeepsAConstantImageConstantAwayFromTheBorders()
    {
        using var scope = NewDisposeScope();
        var f = FirFilter.Create(FirFilter.Binomial4);
        var x = full(new long[] { 1, 2, 8, 8 }, 0.7f);
        var up = Upfirdn2d.Upsample(x, f);
        Assert.Equal(new long[] { 1, 2, 16, 16 }, up.shape);
        Assert.True(allclose(up[.., .., 2..^2, 2..^2], full(1, 2, 12, 12, 0.7f), 1e-6, 1e-6));
        var down = Upfirdn2d.Downsample(x, f);
        Assert.Equal(new long[] { 1, 2, 4, 4 }, down.shape);
        Assert.True(allclose(down[.., .., 1..^1, 1..^1], full(1, 2, 2, 2, 0.7f), 1e-6, 1e-6));
        // ... whereas the borders see the zero padding (so the check above is not vacuous).
        Assert.True(up[0, 0, 0, 0].item<float>() < 0.69f);
    }

    [Fact]
    public void MinibatchStdDevAppendsTheGroupStandardDeviation()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var x = randn(8, 3, 2, 2);
        var y = new MinibatchStdDev(groupSize: 4).call(x);
        Assert.Equal(new long[] { 8, 4, 2, 2 }, y.shape);
        Assert.True(allclose(y[.., ..3], x));
        // Sample n belongs to group slot n mod 2 (groups {0,2,4,6} and {1,3,5,7}).
        foreach (var slot in new[] { 0, 1 })
        {
            var members = x.index_select(0, tensor(new long[] { slot, slot + 2, slot + 4, slot + 6 }));
            double expected = members.std(0, unbiased: false).mean().item<float>();
            for (int n = slot; n < 8; n += 2)
                Assert.Equal(expected, y[n, 3].mean().item<float>(), 3);
        }
        // A batch smaller than the group uses the whole batch.
        Assert.Equal(new long[] { 2, 4, 2, 2 }, new MinibatchStdDev(4).call(randn(2, 3, 2, 2)).shape);
    }
    /// <summary>
    /// The resampling identities behind the fused paths (StyleGAN2 Appendix B; conv2d_resample's two equivalent
    /// orders): a stride-2 transposed convolution followed by the blur equals FIR upsampling followed by a 'same'
    /// convolution, and the blur followed by a stride-2 convolution equals a 'same' convolution followed by FIR
    /// downsampling, away from the one-pixel border (where the separate path pads a zero row the fused one does not have).
    /// </summary>
    [Fact]
    public void TheBlursAlignWithTheUpsamplingAndDownsamplingFilters()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var f = FirFilter.Create(FirFilter.Binomial4).to(ScalarType.Float64);
        var x = randn(new long[] { 2, 3, 8, 8 }, dtype: ScalarType.Float64);
        var w = randn(new long[] { 5, 3, 3, 3 }, dtype: ScalarType.Float64);

        var fused = Upfirdn2d.BlurAfterTransposedConv(nn.functional.conv_transpose2d(x, w.transpose(0, 1).flip(2, 3), strides: new long[] { 2, 2 }), f, 3);
        var separate = nn.functional.conv2d(Upfirdn2d.Upsample(x, f), w, padding: new long[] { 1, 1 });
        Assert.Equal(separate.shape, fused.shape);
        Assert.True(fused[.., .., 1..^1, 1..^1].allclose(separate[.., .., 1..^1, 1..^1], 1e-10, 1e-10),
            $"up: max interior difference {(fused - separate)[.., .., 1..^1, 1..^1].abs().max().item<double>():G3}");

        var strided = nn.functional.conv2d(Upfirdn2d.BlurBeforeStridedConv(x, f, 3), w, strides: new long[] { 2, 2 });
        var after = Upfirdn2d.Downsample(nn.functional.conv2d(x, w, padding: new long[] { 1, 1 }), f);
        Assert.Equal(after.shape, strided.shape);
        Assert.True(strided[.., .., 1..^1, 1..^1].allclose(after[.., .., 1..^1, 1..^1], 1e-10, 1e-10),
            $"down: max interior difference {(strided - after)[.., .., 1..^1, 1..^1].abs().max().item<double>():G3}");
    }
}
