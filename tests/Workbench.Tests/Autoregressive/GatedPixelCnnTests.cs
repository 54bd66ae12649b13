using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Autoregressive;

// the causality checks assert that no gradient is (near) zero: seeded weights, so no other test may draw from the generator meanwhile
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class GatedPixelCnnTests
{
    const int Size = 8;

    // 4 layers of 5-wide kernels reach 8 rows up and 8 columns sideways: the whole 8×8 image.
    static GatedPixelCnn Tiny(int classes = 0)
    {
        var model = new GatedPixelCnn(GatedPixelCnnConfig.Small with { ImageSize = Size, Features = 12, Layers = 4, Kernel = 5, OutputFeatures = 12, Classes = classes });
        model.to(float64);
        return model;
    }

    [Fact]
    public void EachSubPixelDependsOnlyOnEarlierSubPixelsAndOnEveryEarlierPixel()
    {
        Seeding.Set(245);
        using var scope = NewDisposeScope();
        var model = Tiny(classes: 3);
        var labels = tensor(new long[] { 0, 2, 1, 2 });
        var d = CausalityProbe.Measure(x => model.call(x, labels), 3, Size);
        Assert.Null(CausalityProbe.Violation(d));
        // no blind spot: every output sub-pixel sees every channel group allowed before it
        for (long p = 0; p < Size * Size; p++)
            for (long g = 0; g < 3; g++)
            {
                for (long q = 0; q < p; q++)
                    Assert.True(CausalityProbe.Any(d, p, g, q), $"output pixel {p} group {g} is blind to earlier pixel {q}");
                for (long c = 0; c < g; c++)
                    Assert.True(d[p, g, p, c], $"output pixel {p} group {g} should see channel {c} of its own pixel");
            }
    }

    [Fact]
    public void ClassConditioningChangesTheLikelihoodAndIsRequired()
    {
        Seeding.Set(246);
        using var scope = NewDisposeScope();
        var model = Tiny(classes: 3);
        var images = randint(0, 256, new long[] { 2, 3, Size, Size }).to(ScalarType.Byte);
        var a = model.LogProb(images, tensor(new long[] { 0, 0 }));
        var b = model.LogProb(images, tensor(new long[] { 1, 1 }));
        Assert.Equal(new long[] { 2 }, a.shape);
        Assert.True((a - b).abs().max().item<double>() > 1e-6, "the class label should change log p(x | y)");
        Assert.True(model.BitsPerDim(images, tensor(new long[] { 0, 1 })).isfinite().all().item<bool>());
        Assert.Throws<ArgumentException>(() => model.LogProb(images));
        var s = model.Sample(2, labels: tensor(new long[] { 0, 2 }));
        Assert.Equal(new long[] { 2, 3, Size, Size }, s.shape);
    }
}
