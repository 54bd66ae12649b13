using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Autoregressive;

// the causality checks assert that no gradient is (near) zero: seeded weights, so no other test may draw from the generator meanwhile
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class PixelCnnTests
{
    const int Size = 8;

    static PixelCnn Tiny(int blocks = 2)
    {
        var model = new PixelCnn(PixelCnnConfig.Small with { ImageSize = Size, Features = 12, ResidualBlocks = blocks, OutputFeatures = 12 });
        model.to(float64);
        return model;
    }

    [Fact]
    public void EachSubPixelDependsOnlyOnEarlierPixelsAndEarlierChannelsOfItsOwnPixel()
    {
        Seeding.Set(240);
        using var scope = NewDisposeScope();
        var model = Tiny();
        var d = CausalityProbe.Measure(x => model.call(x), 3, Size);
        Assert.Null(CausalityProbe.Violation(d));
        // the channel masks are not simply "nothing of the current pixel": G sees R, B sees R and G
        long p = 3 * Size + 3;
        Assert.True(d[p, 1, p, 0] && d[p, 2, p, 0] && d[p, 2, p, 1], "G should see R, and B should see R and G, of the same pixel");
    }

    [Fact]
    public void StackedMaskedConvolutionsLeaveABlindSpot()
    {
        Seeding.Set(241);
        using var scope = NewDisposeScope();
        var model = Tiny();
        var d = CausalityProbe.Measure(x => model.call(x), 3, Size);
        // A blind spot: an earlier pixel (r, c) the output ignores although it sees a pixel further up in the same column.
        long p = 4 * Size + 2;
        bool hole = false;
        for (long q = 0; q < p && !hole; q++)
        {
            long r = q / Size, c = q % Size;
            if (CausalityProbe.Any(d, p, 0, q)) continue;
            for (long r2 = 0; r2 < r; r2++) hole |= CausalityProbe.Any(d, p, 0, r2 * Size + c);
        }
        Assert.True(hole, "PixelCNN should have a blind spot above-right of pixel (4, 2)");
    }

    [Fact]
    public void CategoricalLikelihoodSumsToOneOverThe256Values()
    {
        Seeding.Set(242);
        using var scope = NewDisposeScope();
        var parameters = randn(1, 3 * 256, 2, 2, dtype: float64) * 3;
        // image k has every sub-pixel equal to k; logsumexp over k of log p(sub-pixel = k) must be 0 everywhere
        var images = arange(256, dtype: ScalarType.Int64).to(ScalarType.Byte).reshape(256, 1, 1, 1).expand(256, 3, 2, 2);
        var lp = PixelCategorical.LogProbPerDim(parameters.expand(256, -1, -1, -1), images); // [256, 3, 2, 2]
        double worst = logsumexp(lp, 0).abs().max().item<double>();
        Assert.True(worst < 1e-10, $"max |log Σ_k p(k)| = {worst}");
        var total = new PixelCategorical().LogProb(parameters.expand(256, -1, -1, -1), images);
        Assert.Equal(lp.sum(new long[] { 1, 2, 3 }).sum().item<double>(), total.sum().item<double>(), 6);
    }

    [Fact]
    public void AUniformModelCosts8BitsPerDim()
    {
        Seeding.Set(243);
        using var scope = NewDisposeScope();
        var model = Tiny();
        using (no_grad())
        {
            model.OutputLayer.Conv.weight!.zero_();
            model.OutputLayer.Conv.bias!.zero_();
        }
        var images = randint(0, 256, new long[] { 2, 3, Size, Size }).to(ScalarType.Byte);
        var bpd = model.BitsPerDim(images);
        Assert.Equal(new long[] { 2 }, bpd.shape);
        Assert.True((bpd - 8).abs().max().item<double>() < 1e-9, $"bits/dim {bpd[0].item<double>()}");
    }

    [Fact]
    public void SamplesAreUint8ImagesOfTheConfiguredSizeAndFollowADeterministicModel()
    {
        Seeding.Set(244);
        using var scope = NewDisposeScope();
        var model = new PixelCnn(PixelCnnConfig.Small with { ImageSize = 4, Features = 8, ResidualBlocks = 1, OutputFeatures = 8 });
        // bias every sub-pixel's logits strongly towards value 200: samples must be 200 everywhere
        using (no_grad())
        {
            model.OutputLayer.Conv.weight!.zero_();
            model.OutputLayer.Conv.bias!.zero_();
            for (int c = 0; c < 3; c++) model.OutputLayer.Conv.bias![c * 256 + 200] = tensor(50f);
        }
        var s = model.Sample(2);
        Assert.Equal(new long[] { 2, 3, 4, 4 }, s.shape);
        Assert.Equal(ScalarType.Byte, s.dtype);
        Assert.True((s.to(ScalarType.Int32) == 200).all().item<bool>());
        Assert.Throws<ArgumentException>(() => model.LogProb(zeros(new long[] { 1, 1, 4, 4 }, ScalarType.Byte)));
    }
}
