using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

/// <summary>Each layer's defining property: exact inverse and log-determinant = log|det| of the autograd Jacobian.</summary>
public class FlowLayerTests
{
    public static TheoryData<string> Layers => new()
    {
        "ActNorm", "InvertibleConv1x1", "InvertibleConv1x1LU", "Reverse", "Shuffle", "AdditiveCoupling",
        "AffineCoupling", "Squeeze", "LearnedPrior", "FlowStep", "ActNormVector", "AffineCouplingVector",
        "ActNormFactor3", "AffineCouplingEdge", "AdditiveCouplingEdge", "FlowStepZeroPadding",
    };

    static (FlowLayer Layer, Tensor X) Make(string name)
    {
        var img = randn(2, 4, 2, 4, dtype: float64);
        var vec = randn(3, 2, dtype: float64);
        FlowLayer layer = name switch
        {
            "ActNorm" => new ActNorm(4),
            "InvertibleConv1x1" => new InvertibleConv1x1(4),
            "InvertibleConv1x1LU" => new InvertibleConv1x1LU(4),
            "Reverse" => ChannelPermutation.Reverse(4),
            "Shuffle" => ChannelPermutation.Shuffle(4, 3),
            "AdditiveCoupling" => AdditiveCoupling.ForImages(4, 8),
            "AffineCoupling" => AffineCoupling.ForImages(4, 8),
            "Squeeze" => new Squeeze(),
            "LearnedPrior" => new LearnedPrior(4, 2, 4),
            "FlowStep" => new FlowStep(4, GlowConfig.Small with { HiddenChannels = 8 }),
            "ActNormVector" => new ActNorm(2),
            "AffineCouplingVector" => AffineCoupling.ForVectors(2, 8),
            "ActNormFactor3" => new ActNorm(4, 3),
            "AffineCouplingEdge" => AffineCoupling.ForImages(4, 8, GlowPadding.Edge),
            "AdditiveCouplingEdge" => AdditiveCoupling.ForImages(4, 8, GlowPadding.Edge),
            "FlowStepZeroPadding" => new FlowStep(4, GlowConfig.Small with { HiddenChannels = 8, Padding = GlowPadding.Zero, ActNormLogScaleFactor = 1 }),
            _ => throw new ArgumentException(name),
        };
        layer.to(float64);
        return (layer, name.EndsWith("Vector") ? vec : img);
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void InverseAndLogDetMatchBruteForce(string name)
    {
        Seeding.Set(1);
        using var scope = NewDisposeScope();
        var (layer, x) = Make(name);
        layer.Forward(x); // data-dependent init where there is one
        Perturb(layer);
        var (recon, logdet) = Check(layer, x);
        Assert.True(recon < 1e-5, $"{name}: inverse(forward(x)) differs from x by {recon}");
        Assert.True(logdet < 1e-5, $"{name}: logdet differs from the brute-force log|det J| by {logdet}");
    }

    [Fact]
    public void SequenceSumsLogDetsAndInvertsInReverseOrder()
    {
        Seeding.Set(2);
        using var scope = NewDisposeScope();
        var parts = new FlowLayer[] { new ActNorm(4), new InvertibleConv1x1(4), AffineCoupling.ForImages(4, 8) };
        var seq = new FlowSequence(parts);
        seq.to(float64);
        var x = randn(2, 4, 4, 4, dtype: float64);
        seq.Forward(x);
        Perturb(seq);
        var (y, logdet) = seq.Forward(x);
        var h = x;
        var sum = zeros(2, dtype: float64);
        foreach (var p in parts) { var (o, ld) = p.Forward(h); h = o; sum += ld; }
        Assert.True((h - y).abs().max().item<double>() < 1e-12);
        Assert.True((sum - logdet).abs().max().item<double>() < 1e-10);
        var (recon, ldErr) = Check(seq, x);
        Assert.True(recon < 1e-5 && ldErr < 1e-5, $"recon {recon}, logdet {ldErr}");
    }

    [Fact]
    public void SplitPriorLogDetMatchesBruteForceAndInverts()
    {
        Seeding.Set(3);
        using var scope = NewDisposeScope();
        var split = new Split(4);
        split.to(float64);
        Perturb(split);
        var x = randn(2, 4, 3, 3, dtype: float64);
        var (kept, eps, logdet) = split.call(x);
        var back = split.Inverse(kept, eps);
        Assert.True((back - x).abs().max().item<double>() < 1e-10);
        for (int b = 0; b < 2; b++)
        {
            // The map x -> (kept, eps) is a bijection; its Jacobian determinant is the split's log|det|.
            var jac = Jacobian(v => { var (k, e, _) = split.call(v); return cat(new[] { k.flatten(), e.flatten() }); }, x[b].unsqueeze(0));
            Assert.True(Math.Abs(LogAbsDet(jac) - logdet[b].item<double>()) < 1e-6);
        }
    }

    [Fact]
    public void SqueezeMovesEach2x2BlockIntoChannels()
    {
        using var scope = NewDisposeScope();
        var x = arange(16, dtype: float32).view(1, 1, 4, 4);
        var y = Squeeze.Apply(x);
        Assert.Equal(new long[] { 1, 4, 2, 2 }, y.shape);
        // Channel 2*dy+dx at (i, j) holds x[2i+dy, 2j+dx].
        Assert.Equal(new float[] { 0, 1, 4, 5 }, y[0, .., 0, 0].data<float>().ToArray());
        Assert.Equal(new float[] { 10, 11, 14, 15 }, y[0, .., 1, 1].data<float>().ToArray());
        Assert.Equal(0f, (Squeeze.Unapply(y) - x).abs().max().item<float>());
    }
}
