using TorchSharp;
using Workbench.Nn;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

public class ComponentTests
{
    [Fact]
    public void DemodulationGivesUnitOutputStdForUnitVarianceInputs()
    {
        // Eq. 2-3: for i.i.d. unit-variance inputs, each output channel has std sqrt(sum w''^2) = 1, whatever the
        // styles. Without demodulation the std follows the styles (here scaled up), so the check can fail.
        using var scope = NewDisposeScope();
        random.manual_seed(10);
        var demod = new ModulatedConv2d(64, 16, 3, wDim: 32, demodulate: true);
        var plain = new ModulatedConv2d(64, 16, 3, wDim: 32, demodulate: false);
        var x = randn(8, 64, 18, 18);
        var s = randn(8, 64) * 3 + 1;
        foreach (var (conv, expectUnit) in new[] { (demod, true), (plain, false) })
        {
            var y = conv.Convolve(x, s)[.., .., 1..^1, 1..^1];                 // interior: no zero padding involved
            var perChannelStd = y.permute(1, 0, 2, 3).reshape(16, -1).std(1);  // over samples and pixels
            double lo = perChannelStd.min().item<float>(), hi = perChannelStd.max().item<float>();
            if (expectUnit) { Assert.InRange(lo, 0.9, 1.1); Assert.InRange(hi, 0.9, 1.1); }
            else Assert.True(hi > 1.5, $"without demodulation the std should follow the styles, got max {hi}");
        }
    }

    [Fact]
    public void ABatchOfOneEqualsAPlainConvolutionWithTheModulatedWeights()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var conv = new ModulatedConv2d(5, 7, 3, wDim: 6);
        var x = randn(1, 5, 8, 8);
        var w = randn(1, 6);
        var s = conv.Styles(w);
        // Modulation (Eq. 1) and demodulation (Eq. 3) written out by hand.
        var wp = conv.Weight * conv.WeightGain * s[0][TensorIndex.None, .., TensorIndex.None, TensorIndex.None];
        var wpp = wp / (wp.square().sum(new long[] { 1, 2, 3 }, keepdim: true) + 1e-8).sqrt();
        var expected = nn.functional.conv2d(x, wpp, padding: new long[] { 1, 1 });
        Assert.True(allclose(conv.call(x, w), expected, 1e-5, 1e-5));
        Assert.True(allclose(conv.ModulatedWeights(s)[0], wpp, 1e-6, 1e-6));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TheGroupedConvolutionEqualsAPerSampleLoop(int up)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(12);
        var conv = new ModulatedConv2d(4, 6, 3, wDim: 8, up: up);
        var x = randn(3, 4, 5, 5);
        var w = randn(3, 8);
        var grouped = conv.call(x, w);
        Assert.Equal(new long[] { 3, 6, 5 * up, 5 * up }, grouped.shape);
        var f = FirFilter.Create(FirFilter.Binomial4);
        for (int n = 0; n < 3; n++)
        {
            var wn = conv.ModulatedWeights(conv.Styles(w[n..(n + 1)]))[0];   // [out, in, k, k]
            var xn = x[n..(n + 1)];
            var yn = up == 1
                ? nn.functional.conv2d(xn, wn, padding: new long[] { 1, 1 })
                : Upfirdn2d.Apply(nn.functional.conv_transpose2d(xn, wn.transpose(0, 1), strides: new long[] { 2, 2 }), f,
                    pad: (1, 1, 1, 1), gain: 4);
            Assert.True(allclose(grouped[n..(n + 1)], yn, 1e-5, 1e-5), $"sample {n} differs");
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(1, false)]
    public void TheNonFusedFormEqualsTheGroupedConvolution(int up, bool demodulate)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(24);
        var conv = new ModulatedConv2d(6, 5, 3, wDim: 8, demodulate: demodulate, up: up);
        var x = randn(4, 6, 6, 6);
        var w = randn(4, 8);
        var fused = conv.call(x, w);
        conv.Fused = false;
        Assert.True(allclose(conv.call(x, w), fused, 1e-5, 1e-5));
    }

    [Fact]
    public void NoiseStartsSwitchedOffAndBiasAndActivationSitOutsideTheStyleBlock()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(13);
        var layer = new SynthesisLayer(4, 6, wDim: 8, resolution: 8);
        Assert.Equal(0.0, layer.Noise.Strength.item<float>());
        var x = randn(2, 4, 8, 8);
        var w = randn(2, 8);
        // Fig. 2c/d: y = lrelu(modconv(x, w) + noise + b) * sqrt(2); with zero strength the noise mode is irrelevant.
        var a = layer.Forward(x, w, NoiseMode.Random);
        var b = layer.Forward(x, w, NoiseMode.None);
        Assert.True(allclose(a, b));
        var expected = nn.functional.leaky_relu(layer.Conv.call(x, w), 0.2) * Math.Sqrt(2);
        Assert.True(allclose(b, expected, 1e-5, 1e-6));
        // Once the strength is learned, random noise changes the output, one noise image shared across channels.
        using (no_grad()) layer.Noise.Strength.fill_(0.5);
        var y0 = layer.Noise.Inject(zeros(1, 3, 4, 4), NoiseMode.Random);
        Assert.True(allclose(y0[0, 0], y0[0, 2]));
        Assert.True(y0.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void ToRgbDoesNotDemodulateAndConstantInputIsFourByFour()
    {
        using var scope = NewDisposeScope();
        var t = new ToRgb(8, 3, 16);
        Assert.False(t.Conv.Demodulate);
        Assert.Equal(1, t.Conv.KernelSize);
        var c = new ConstantInput(8);
        Assert.Equal(new long[] { 5, 8, 4, 4 }, c.call(5).shape);
    }

    [Fact]
    public void MappingNetworkNormalisesZAndUsesTheLrMultiplier()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(14);
        var m = new MappingNetwork(16, 12, layers: 3, lrMul: 0.01);
        var z = randn(5, 16);
        var nz = MappingNetwork.NormalizeZ(z);
        Assert.True(allclose(nz.square().mean(new long[] { 1 }), ones(5), 1e-4, 1e-4));
        // Normalising z makes f invariant to the scale of z.
        Assert.True(allclose(m.call(z), m.call(z * 7.5), 1e-4, 1e-5));
        var fcs = m.modules().OfType<EqualizedLinear>().ToList();
        Assert.Equal(3, fcs.Count);
        Assert.All(fcs, l => Assert.Equal(0.01, l.LrMul));
        Assert.Equal(new long[] { 5, 12 }, m.call(z).shape);
    }

    [Fact]
    public void TheAverageWIsABufferUpdatedWithItsDecay()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(15);
        var m = new MappingNetwork(8, 8, layers: 2, wAvgDecay: 0.9);
        Assert.Contains("w_avg", m.state_dict().Keys);
        Assert.DoesNotContain(m.named_parameters(), p => p.name.Contains("w_avg"));
        var w = randn(4, 8);
        m.UpdateWAvg(w);
        Assert.True(allclose(m.WAvg, w.mean(new long[] { 0 }) * 0.1, 1e-6, 1e-6));
    }

    [Fact]
    public void TruncationWithPsiZeroReturnsTheAverageW()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(16);
        var g = new StyleGan2Generator(TinyConfig(16));
        using (no_grad()) g.Mapping.WAvg.copy_(randn(g.Config.WDim));
        var z = randn(3, g.Config.ZDim);
        var ws = g.MapToW(z, psi: 0);
        Assert.Equal(new long[] { 3, g.NumWs, g.Config.WDim }, ws.shape);
        Assert.True(allclose(ws, g.WAvg.expand(3, g.NumWs, -1)));
        // psi = 0.5 halves the distance; a cutoff leaves the later layers untouched.
        var full = g.MapToW(z);
        Assert.True(allclose(g.MapToW(z, 0.5), g.WAvg + (full - g.WAvg) * 0.5, 1e-5, 1e-6));
        var cut = g.MapToW(z, 0, truncationCutoff: 2);
        Assert.True(allclose(cut[.., 2..], full[.., 2..]));
        Assert.True(allclose(cut[.., ..2], g.WAvg.expand(3, 2, -1)));
    }

    internal static StyleGan2Config TinyConfig(int resolution) => StyleGan2Config.Small with
    {
        Resolution = resolution, ZDim = 16, WDim = 16, MappingLayers = 2, ChannelBase = 64, ChannelMax = 8,
    };

    [Theory]
    [InlineData(8, 4)]
    [InlineData(32, 8)]
    [InlineData(64, 10)]
    public void TheGeneratorAndDiscriminatorFollowTheConfiguredResolution(int resolution, int numWs)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(17);
        var cfg = TinyConfig(resolution);
        Assert.Equal(numWs, cfg.NumWs);
        var g = new StyleGan2Generator(cfg);
        var d = new StyleGan2Discriminator(cfg);
        var img = g.call(randn(4, cfg.ZDim));
        Assert.Equal(new long[] { 4, 3, resolution, resolution }, img.shape);
        Assert.Equal(new long[] { 4 }, d.call(img).shape);
        // One tRGB per resolution (skip architecture), residual blocks down to 4x4.
        Assert.Equal(cfg.Log2Resolution - 1, g.modules().OfType<ToRgb>().Count());
        Assert.Equal(cfg.Log2Resolution - 2, d.modules().OfType<DiscriminatorBlock>().Count());
    }

    [Fact]
    public void EveryWDrivesItsOwnLayerAndSeededSamplesRepeat()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(18);
        var cfg = TinyConfig(16);
        var g = new StyleGan2Generator(cfg);
        var a = g.Sample(2, seed: 7);
        var b = g.Sample(2, seed: 7);
        Assert.True(allclose(a, b));
        // Changing one layer's w (style mixing at the last layer) changes the image; the same ws reproduce it.
        using var _ = no_grad();
        var ws1 = g.MapToW(g.SampleZ(2, 1));
        var ws2 = g.MapToW(g.SampleZ(2, 2));
        var mixed = StyleGan2Generator.MixStyles(ws1, ws2, cfg.NumWs - 1);
        Assert.True(allclose(mixed[.., ..^1], ws1[.., ..^1]));
        Assert.True(allclose(mixed[.., ^1..], ws2[.., ^1..]));
        var i1 = g.Synthesize(ws1, NoiseMode.Const);
        Assert.True(allclose(i1, g.Synthesize(ws1, NoiseMode.Const)));
        Assert.False(allclose(i1, g.Synthesize(mixed, NoiseMode.Const)));
    }

    [Fact]
    public void TheResidualDiscriminatorBlockScalesItsSumByOneOverRootTwo()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(19);
        var block = new DiscriminatorBlock(8, 8, resolution: 8);
        var x = randn(2, 8, 8, 8);
        var y = block.call(x);
        // Zero the residual branch's last conv (weights and bias): what remains is the skip path / sqrt(2).
        var named = block.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad()) { named["conv1.weight"].zero_(); named["conv1.bias"].zero_(); }
        var skipOnly = block.call(x);
        var f = FirFilter.Create(FirFilter.Binomial4);
        var skipW = named["skip.weight"] / Math.Sqrt(8);
        var expected = nn.functional.conv2d(Upfirdn2d.Apply(x, f, pad: (1, 1, 1, 1)), skipW, strides: new long[] { 2, 2 }) / Math.Sqrt(2);
        Assert.True(allclose(skipOnly, expected, 1e-5, 1e-6));
        Assert.Equal(new long[] { 2, 8, 4, 4 }, y.shape);
    }
}
