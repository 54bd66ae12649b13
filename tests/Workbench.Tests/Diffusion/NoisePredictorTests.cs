using TorchSharp;
using Workbench.Diffusion;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Tests.Diffusion;

/// <summary>The U-Net noise predictor and its parts (Ho et al. 2020, App. B).</summary>
public class NoisePredictorTests
{
    static readonly DiffusionConfig Tiny = DiffusionConfig.Small with
    {
        ImageChannels = 3, ImageSize = 8, Channels = 8, ChannelMultipliers = new[] { 1, 2 }, AttentionResolutions = new[] { 4 }, Timesteps = 10,
    };

    /// <summary>The paper's CIFAR-10 model: 35.7M parameters (Ho et al. 2020, App. B, "Our CIFAR10 model has 35.7 million
    /// parameters").</summary>
    [Fact]
    public void PaperConfigHasTheReportedParameterCount()
    {
        using var net = new UNet(new DiffusionConfig());
        long count = net.parameters().Sum(p => p.numel());
        Assert.InRange(count / 1e6, 35.65, 35.75);
    }

    /// <summary>ε_θ maps x_t to a tensor of its shape, at 28×28 (odd side 7 at the bottom) and 8×8; every parameter gets
    /// a gradient once the zero-initialised convs have moved; the timestep changes the output.</summary>
    [Fact]
    public void UNetKeepsTheShapeAndUsesTheTimestep()
    {
        using var scope = NewDisposeScope();
        foreach (var config in new[] { DiffusionConfig.Small with { Channels = 8 }, Tiny })
        {
            using var net = new UNet(config);
            var x = randn(2, config.ImageChannels, config.ImageSize, config.ImageSize);
            var t = tensor(new long[] { 1, 7 });
            Assert.Equal(x.shape, net.call(x, t).shape);
            // the output conv, the blocks' second convs and the attention projections start at zero (the authors' init),
            // which blocks every path but one; once all weights are perturbed gradients reach every parameter
            using (no_grad()) foreach (var p in net.parameters()) p.add_(randn_like(p) * 0.05);
            (net.call(x, t) - x).square().mean().backward();
            var missing = net.named_parameters().Where(p => p.parameter.grad is null || p.parameter.grad.abs().sum().item<float>() == 0)
                .Select(p => p.name).ToList();
            Assert.True(missing.Count == 0, "no gradient: " + string.Join(", ", missing));
            using (no_grad())
            {
                var a = net.call(x, tensor(new long[] { 0, 0 }));
                var b = net.call(x, tensor(new long[] { 9, 9 }));
                Assert.True((a - b).abs().max().item<float>() > 1e-6, "the output ignores t");
            }
        }
    }

    /// <summary>The U-Net's nearest-neighbour upsampling is libtorch's <c>interpolate(mode: nearest)</c>: the same output
    /// bit for bit at exactly 2× (square and non-square maps, the index path) and at other sizes (7 → 13, the fallback),
    /// and the same input gradient for a random upstream gradient (sums of four values, to rounding).</summary>
    [Fact]
    public void NearestUpsampleIsInterpolateNearest()
    {
        using var scope = NewDisposeScope();
        foreach (var (h, w, th, tw) in new[] { (7L, 7L, 14L, 14L), (3L, 5L, 6L, 10L), (7L, 7L, 13L, 13L), (4L, 3L, 8L, 5L) })
        {
            var x = randn(2, 3, h, w);
            var a = x.detach().requires_grad_(true);
            var b = x.detach().requires_grad_(true);
            var ours = NearestUpsample.Apply(a, th, tw);
            var reference = nn.functional.interpolate(b, size: new long[] { th, tw }, mode: InterpolationMode.Nearest);
            Assert.Equal(reference.shape, ours.shape);
            Assert.Equal(0f, (ours - reference).abs().max().item<float>());
            var g = randn(reference.shape);
            ours.backward(new[] { g });
            reference.backward(new[] { g });
            Assert.True((a.grad! - b.grad!).abs().max().item<float>() < 1e-5f, $"gradient differs at {h}x{w} -> {th}x{tw}");
        }
    }

    /// <summary>Self-attention is equivariant to permuting positions (each position attends to all with the same
    /// weights): permuting the pixels of the input permutes those of the output; each row of weights sums to 1.</summary>
    [Fact]
    public void AttentionIsPermutationEquivariantAndItsWeightsSumToOne()
    {
        using var scope = NewDisposeScope();
        using var attn = new AttentionBlock(8, 4);
        using (no_grad()) foreach (var p in attn.parameters()) p.normal_(0, 0.3);
        var x = randn(2, 8, 3, 3);
        var perm = tensor(new long[] { 4, 0, 8, 2, 7, 1, 3, 6, 5 });
        var xp = x.reshape(2, 8, 9).index_select(2, perm).reshape(2, 8, 3, 3);
        var y = attn.call(x).reshape(2, 8, 9).index_select(2, perm);
        var yp = attn.call(xp).reshape(2, 8, 9);
        Assert.True((y - yp).abs().max().item<float>() < 1e-5);
        Assert.True((attn.Weights(x).sum(new long[] { 2 }) - 1).abs().max().item<float>() < 1e-5);
        Assert.True((attn.call(x) - x).abs().max().item<float>() > 1e-3);
    }

    /// <summary>The sinusoidal embedding of Vaswani et al.: sin(t ω_i) then cos(t ω_i) with ω_0 = 1 and ω_{d/2−1} = 1e-4.</summary>
    [Fact]
    public void SinusoidalEmbeddingHasTheTransformerFrequencies()
    {
        using var scope = NewDisposeScope();
        var e = SinusoidalTimeEmbedding.Sinusoids(tensor(new long[] { 0, 3 }), 8);
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 1, 1, 1 }, e[0].data<float>().ToArray());
        double[] w = { 1, Math.Pow(1e4, -1.0 / 3), Math.Pow(1e4, -2.0 / 3), 1e-4 };
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(Math.Sin(3 * w[i]), e[1, i].item<float>(), 5);
            Assert.Equal(Math.Cos(3 * w[i]), e[1, 4 + i].item<float>(), 5);
        }
    }

    /// <summary>The residual block starts as its skip (zero-initialised second conv), as in the authors' code.</summary>
    [Fact]
    public void ResidualBlockStartsAsItsSkip()
    {
        using var scope = NewDisposeScope();
        using var block = new TimeResidualBlock(8, 8, 16, 4);
        var x = randn(2, 8, 5, 5);
        Assert.True((block.call(x, randn(2, 16)) - x).abs().max().item<float>() == 0);
        Assert.Equal(12, TimeResidualBlock.Groups(32, 12));
        Assert.Equal(6, TimeResidualBlock.Groups(8, 12));
        Assert.Equal(32, TimeResidualBlock.Groups(32, 256));
    }

    /// <summary>Every GroupNorm of the U-Net starts with scale 1 and shift 0 (TorchSharp 0.107 leaves them uninitialised,
    /// and a NaN there made the first training step diverge), so all parameters are finite.</summary>
    [Fact]
    public void GroupNormsStartAtScaleOneAndShiftZero()
    {
        using var scope = NewDisposeScope();
        for (int k = 0; k < 3; k++)
        {
            using var net = new UNet(Tiny);
            foreach (var (name, p) in net.named_parameters())
            {
                Assert.True(p.isfinite().all().item<bool>(), name);
                if (name.Contains("norm") && name.EndsWith("weight")) Assert.True(p.eq(1).all().item<bool>(), name);
                if (name.Contains("norm") && name.EndsWith("bias")) Assert.True(p.eq(0).all().item<bool>(), name);
            }
        }
    }
}
