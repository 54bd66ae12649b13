using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Flows;

/// <summary>
/// Glow's edge padding (openai/glow's add_edge_padding) computed as conv(x, pad 1) + a fixed border map must equal
/// the reference's construction: pad with zeros, append a channel that is 1 on the padded border, convolve without
/// padding with the weights of both.
/// </summary>
public class EdgePaddingTests
{
    /// <summary>conv3x3 over concat(zero-padded x, border channel), no padding: the reference's construction.</summary>
    static Tensor Explicit(Tensor x, Tensor weight, Tensor bias, Tensor edgeWeight)
    {
        long h = x.shape[2], w = x.shape[3];
        var padded = nn.functional.pad(x, new long[] { 1, 1, 1, 1 });
        var border = zeros(x.shape[0], 1, h + 2, w + 2, dtype: x.dtype);
        for (long i = 0; i < h + 2; i++)
            for (long j = 0; j < w + 2; j++)
                if (i == 0 || j == 0 || i == h + 1 || j == w + 1) border[.., 0, i, j] = 1;
        return nn.functional.conv2d(cat(new[] { padded, border }, 1), cat(new[] { weight, edgeWeight }, 1), bias);
    }

    static Tensor Param(nn.Module m, string name) => m.named_parameters().Single(p => p.name == name).parameter;

    [Fact]
    public void ZeroConv2dWithEdgePaddingEqualsTheExtraChannelConstruction()
    {
        Seeding.Set(3);
        using var scope = NewDisposeScope();
        var conv = new ZeroConv2d(3, 5, GlowPadding.Edge);
        conv.to(float64);
        FlowTestUtil.Perturb(conv, 0.5);
        var x = randn(2, 3, 4, 6, dtype: float64);
        var scale = (Param(conv, "logs") * 3).exp().view(1, -1, 1, 1);
        var expected = Explicit(x, Param(conv, "conv.weight"), Param(conv, "conv.bias"), Param(conv, "edge")) * scale;
        var got = conv.call(x);
        Assert.Equal(expected.shape, got.shape);
        double err = (got - expected).abs().max().item<double>();
        Assert.True(err < 1e-10, $"edge-padded ZeroConv2d differs from the explicit construction by {err}");
        // The border channel matters: without it the output differs at the edges only.
        var zeroPadded = nn.functional.conv2d(x, Param(conv, "conv.weight"), Param(conv, "conv.bias"), padding: new long[] { 1, 1 }) * scale;
        var diff = (got - zeroPadded).abs();
        Assert.True(diff[.., .., 1..3, 1..5].max().item<double>() < 1e-10, "interior must not see the border channel");
        Assert.True(diff.max().item<double>() > 1e-3, "edges must see the border channel");
    }

    [Fact]
    public void CouplingNetworkFirstConvolutionUsesEdgePadding()
    {
        Seeding.Set(4);
        using var scope = NewDisposeScope();
        var net = new CouplingNetwork(2, 6, 4, GlowPadding.Edge);
        net.to(float64);
        FlowTestUtil.Perturb(net, 0.5);
        var x = randn(3, 2, 5, 5, dtype: float64);
        var h = nn.functional.relu(Explicit(x, Param(net, "conv1.weight"), Param(net, "conv1.bias"), Param(net, "edge1")));
        h = nn.functional.relu(nn.functional.conv2d(h, Param(net, "conv2.weight"), Param(net, "conv2.bias")));
        var expected = Explicit(h, Param(net, "conv3.conv.weight"), Param(net, "conv3.conv.bias"), Param(net, "conv3.edge"))
                       * (Param(net, "conv3.logs") * 3).exp().view(1, -1, 1, 1);
        double err = (net.call(x) - expected).abs().max().item<double>();
        Assert.True(err < 1e-10, $"edge-padded coupling network differs from the explicit construction by {err}");
    }

    [Fact]
    public void ZeroPaddingKeepsTheOlderParameterNames()
    {
        using var scope = NewDisposeScope();
        var names = new ZeroConv2d(2, 4).named_parameters().Select(p => p.name).Order().ToArray();
        Assert.Equal(new[] { "conv.bias", "conv.weight", "logs" }, names);
        Assert.Equal(new[] { "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "conv3.conv.bias", "conv3.conv.weight", "conv3.logs" },
            new CouplingNetwork(2, 4, 4).named_parameters().Select(p => p.name).Order().ToArray());
    }

    [Fact]
    public void ActNormWithLogScaleFactorInitialisesTheSameAndStoresAThird()
    {
        Seeding.Set(5);
        using var scope = NewDisposeScope();
        var x = randn(8, 3, 5, 5) * tensor(new float[] { 0.1f, 2f, 5f }).view(1, 3, 1, 1) + 1;
        var plain = new ActNorm(3);
        var glow = new ActNorm(3, 3);
        var (y1, ld1) = plain.Forward(x);
        var (y3, ld3) = glow.Forward(x);
        Assert.True((y1 - y3).abs().max().item<float>() < 1e-5, "same output after data-dependent init");
        Assert.True((ld1 - ld3).abs().max().item<float>() < 1e-3, "same log-determinant after data-dependent init");
        var stored = glow.named_parameters().Single(p => p.name == "logs").parameter;
        Assert.True((stored * 3 - plain.LogScale).abs().max().item<float>() < 1e-6, "the stored log-scale is the effective one / 3");
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActNorm(3, 0));
    }
}
