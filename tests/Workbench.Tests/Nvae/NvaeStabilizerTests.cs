using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nvae;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Nvae;

// Seeded model construction draws from the global generator.
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class NvaeStabilizerTests
{
    static float Max(Tensor t) => t.abs().max().item<float>();

    [Fact]
    public void WeightNormalisedConvHasPerChannelNormGAndGradientsReachGAndV()
    {
        using var scope = NewDisposeScope();
        Seeding.Set(1);
        var conv = new WeightNormConv2d(3, 5, 3, padding: 1);
        using (no_grad()) conv.LogGain!.copy_(tensor(new float[] { -1, 0, 0.5f, 1, 2 }).reshape(5, 1, 1, 1));
        var w = conv.Weight;
        var norms = w.square().sum(new long[] { 1, 2, 3 }).sqrt();
        var g = conv.LogGain!.exp().flatten();
        Assert.True(Max(norms - g) < 1e-4 * g.max().item<float>(), $"‖w_o‖ {norms} vs g {g}");
        // the direction is v's: w_o ∝ v_o
        var v = conv.Conv.weight!;
        var vn = v / v.square().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
        Assert.True(Max(w / g.reshape(5, 1, 1, 1) - vn) < 1e-4);
        // the forward pass applies the normalised weight
        var x = randn(2, 3, 6, 6);
        var y = conv.call(x);
        var expected = nn.functional.conv2d(x, w, conv.Conv.bias, padding: new long[] { 1, 1 });
        Assert.True(Max(y - expected) < 1e-5);
        // gradient flows to g and v
        y.square().sum().backward();
        Assert.True(Max(conv.LogGain!.grad!) > 0);
        Assert.True(Max(conv.Conv.weight!.grad!) > 0);
        // initialised so that g ≈ ‖v‖: the layer starts close to the plain conv
        var fresh = new WeightNormConv2d(3, 5, 3, padding: 1);
        Assert.True(Max(fresh.Weight - fresh.Conv.weight!) < 0.02);
    }

    [Fact]
    public void BatchNormScalePenaltyIsTheSumOfEachLayersLargestAbsoluteGamma()
    {
        using var scope = NewDisposeScope();
        Seeding.Set(2);
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        var bns = model.modules().OfType<BatchNorm2d>().ToArray();
        // set γ of each layer to known values: layer i gets channel 0 = −(i + 2) (the largest |γ|), the rest 0.5
        double expected = 0;
        using (no_grad())
            for (int i = 0; i < bns.Length; i++)
            {
                bns[i].weight!.fill_(0.5);
                bns[i].weight![0] = -(i + 2);
                expected += i + 2;
            }
        var penalty = model.BatchNormScalePenalty();
        Assert.Equal(expected, penalty.item<float>(), 3);
        // its gradient reaches γ: −1 at each layer's arg-max |γ| (γ < 0 there), 0 elsewhere
        penalty.backward();
        foreach (var bn in bns)
        {
            var grad = bn.weight!.grad!;
            Assert.Equal(-1, grad[0].item<float>(), 5);
            Assert.Equal(0, Max(grad.narrow(0, 1, grad.shape[0] - 1)), 6);
        }
        Assert.True(model.PenalizesBatchNormScale);
        Assert.False(new Workbench.Nvae.Nvae(NvaeConfig.Tiny with { BatchNormPenalty = false }).PenalizesBatchNormScale);
    }

    [Fact]
    public void SpectralRegularizerBoundsTheNormalisedWeight()
    {
        using var scope = NewDisposeScope();
        Seeding.Set(3);
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        var wn = model.modules().OfType<WeightNormConv2d>().ToArray();
        Assert.All(wn, c => Assert.True(c.Normalized));
        var before = model.Spectral.SumOfSigmas(50).item<float>();
        var sigmas = model.Spectral.Sigmas();
        // doubling every g (v fixed) doubles the σ of every normalised layer; plain convs keep theirs
        using (no_grad()) foreach (var c in wn) c.LogGain!.add_(Math.Log(2));
        var after = model.Spectral.Sigmas();
        var ratio = after.Zip(sigmas, (a, b) => a / b).ToArray();
        Assert.Equal(wn.Length, ratio.Count(r => Math.Abs(r - 2) < 1e-4));
        Assert.Equal(ratio.Length - wn.Length, ratio.Count(r => Math.Abs(r - 1) < 1e-6));
        // the gradient of Σ s_i reaches log g
        model.Spectral.SumOfSigmas(1).backward();
        Assert.All(wn, c => Assert.True(Max(c.LogGain!.grad!) > 0));
        Assert.True(before > 0);
        // off: no weight-normalised layer, plain convs only
        var plain = new Workbench.Nvae.Nvae(NvaeConfig.Tiny with { WeightNorm = false });
        Assert.All(plain.modules().OfType<WeightNormConv2d>(), c => Assert.False(c.Normalized));
    }

    [Fact]
    public void SpectralRegularizerStartsWithTenTimesTheReferencesPerStepPowerIterations()
    {
        using var scope = NewDisposeScope();
        // NVAE's code: 4 power iterations per step, 10 × 4 the first time
        Assert.Equal(4, SpectralRegularizer.ReferenceIterations);
        Assert.Equal(40, SpectralRegularizer.InitialIterations);
        Assert.Equal(4, new NvaeTrainConfig().PowerIterations);
        // the first estimate (at construction, before any training step) is the one of 40 iterations from the same
        // start (same seed, same layers)
        Seeding.Set(4);
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        Assert.Equal(model.Spectral.Count, new SpectralRegularizer(new nn.Module[] { model }).Count);
        var atStart = new SpectralRegularizer(new nn.Module[] { model }).Sigmas();
        var reference = new SpectralRegularizer(new nn.Module[] { model }, initialIterations: 0);
        reference.SumOfSigmas(40).Dispose();
        var forty = reference.Sigmas();
        Assert.Equal(forty.Length, atStart.Length);
        for (int i = 0; i < forty.Length; i++) Assert.Equal(forty[i], atStart[i], 5);
    }
}
