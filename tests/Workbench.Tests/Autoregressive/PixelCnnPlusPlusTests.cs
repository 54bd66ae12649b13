using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Autoregressive;

// the causality checks assert that no gradient is (near) zero: seeded weights, so no other test may draw from the generator meanwhile
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class PixelCnnPlusPlusTests
{
    const int Size = 8;

    static PixelCnnPlusPlus Tiny(int scales = 3)
    {
        var model = new PixelCnnPlusPlus(PixelCnnPlusPlusConfig.Small with { ImageSize = Size, Features = 8, ResnetsPerScale = 1, Scales = scales, Mixtures = 2 });
        model.to(float64);
        model.eval();
        return model;
    }

    [Fact]
    public void EachPixelsParametersDependOnEveryEarlierPixelAndNothingElse()
    {
        Seeding.Set(250);
        using var scope = NewDisposeScope();
        var model = Tiny();
        var d = CausalityProbe.MeasurePixels(x => model.call(x), 3, Size);
        // Causal: nothing at or after the pixel. No blind spot: every earlier pixel is seen, except the two extreme corners
        // (column offset ±7) that lie beyond this tiny net's sideways reach of 6 columns; the PixelCNN test finds one unseen a row up and 4 columns right.
        for (long p = 0; p < Size * Size; p++)
            for (long q = 0; q < Size * Size; q++)
            {
                bool earlier = q < p, inReach = Math.Abs(q % Size - p % Size) < Size - 1;
                if (!earlier) Assert.False(d[p, q], $"pixel {p} depends on pixel {q}, which is not before it");
                else if (inReach) Assert.True(d[p, q], $"pixel {p} is blind to earlier pixel {q}");
            }
    }

    [Fact]
    public void LogProbIsAFiniteNegativeNumberPerImageAndSamplingFillsTheImage()
    {
        Seeding.Set(251);
        using var scope = NewDisposeScope();
        var model = new PixelCnnPlusPlus(PixelCnnPlusPlusConfig.Small with { ImageSize = 4, Features = 8, ResnetsPerScale = 1, Scales = 2, Mixtures = 2 });
        var images = randint(0, 256, new long[] { 3, 3, 4, 4 }).to(ScalarType.Byte);
        var lp = model.LogProb(images);
        Assert.Equal(new long[] { 3 }, lp.shape);
        Assert.True((lp < 0).all().item<bool>() && lp.isfinite().all().item<bool>());
        Assert.True(model.BitsPerDim(images).isfinite().all().item<bool>());
        Assert.Equal(new long[] { 2, 3, 4, 4 }, model.Sample(2).shape);
        Assert.Throws<ArgumentException>(() => model.LogProb(zeros(new long[] { 1, 3, 5, 5 }, ScalarType.Byte)));
    }
}
