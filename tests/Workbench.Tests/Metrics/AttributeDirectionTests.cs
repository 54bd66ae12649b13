using Workbench.Flows;
using Workbench.Nvae;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

/// <summary>The latent-space edits the comparison measures: strength 0 gives the images back, equal sets give no
/// direction, and each direction is the difference of the two groups' means.</summary>
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class AttributeDirectionTests
{
    static Tensor Images(int n, int c, int size, int seed)
    {
        var g = new Generator((ulong)seed);
        return randint(0, 256, new long[] { n, c, size, size }, generator: g).to(ScalarType.Byte);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a == b).all().item<bool>();

    [Fact]
    public void GlowEditAtStrengthZeroReturnsTheImagesAndTheDirectionIsTheDifferenceOfMeanLatents()
    {
        Seeding.Set(1);
        using var scope = NewDisposeScope();
        var model = new Glow(GlowConfig.Small with { StepsPerLevel = 1, HiddenChannels = 8 }, 3, 8, 8);
        var a = Images(6, 3, 8, 1);
        var b = Images(5, 3, 8, 2);
        Assert.True(Same(a, GlowAttributeDirection.Apply(model, a, zeros(3 * 8 * 8), 0.0)), "strength 0 changed the images");

        var d = GlowAttributeDirection.Direction(model, a, b);
        Assert.Equal(new long[] { 3 * 8 * 8 }, d.shape);
        using (no_grad())
        {
            Tensor Latents(Tensor x) => EvalMode.Run(model, () => model.Encode(Preprocess(x)));
            Tensor Preprocess(Tensor x) => Workbench.Data.Preprocess.ToFlowInput(x, 8, dequantize: false) + 0.5 / 256;
            var expected = Latents(a).mean(new long[] { 0 }) - Latents(b).mean(new long[] { 0 });
            Assert.True(allclose(d, expected, rtol: 1e-5, atol: 1e-5));
            Assert.True(GlowAttributeDirection.Direction(model, a, a).abs().max().item<float>() < 1e-5);
            // An edit moves the latent by exactly strength × direction (up to the decode's rounding to pixels).
            var moved = GlowAttributeDirection.Apply(model, a, d, 0.5);
            Assert.False(Same(a, moved), "a non-zero edit left the images unchanged");
        }
    }

    [Fact]
    public void NvaeEditAtStrengthZeroIsTheReconstructionAndMovesOnlyWithTheTopGroups()
    {
        Seeding.Set(2);
        using var scope = NewDisposeScope();
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        var a = Images(4, 1, 8, 3);
        var b = Images(4, 1, 8, 4);
        var encoded = NvaeAttributeDirection.Encode(model, a);
        var d = NvaeAttributeDirection.Direction(model, a, b, groups: 1);
        Assert.Single(d);
        Assert.Equal(encoded[0].shape.Skip(1), d[0].shape);

        var reconstruction = EvalMode.Run(model, () => model.SampleImages(4, 1.0, fixedZ: encoded.Select(z => (Tensor?)z).ToList()));
        Assert.True(Same(reconstruction, NvaeAttributeDirection.Apply(model, encoded, d, 0.0)));
        Assert.True(Same(NvaeAttributeDirection.Apply(model, encoded, d, 2.0), NvaeAttributeDirection.Apply(model, encoded, d, 2.0)),
            "an edit of fixed latents is not deterministic");
        var shifted = encoded.Select((z, g) => (Tensor?)(g == 0 ? z + 2.0 * d[0] : z)).ToList();
        Assert.True(Same(EvalMode.Run(model, () => model.SampleImages(4, 1.0, fixedZ: shifted)), NvaeAttributeDirection.Apply(model, encoded, d, 2.0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => NvaeAttributeDirection.Direction(model, a, b, groups: 3));
    }

    [Fact]
    public void WSpaceEditAtStrengthZeroReturnsTheFacesAndAReversedScoreReversesTheDirection()
    {
        Seeding.Set(3);
        using var scope = NewDisposeScope();
        var config = StyleGan2Config.Small with { Resolution = 8, ZDim = 16, WDim = 16, MappingLayers = 2, ChannelMax = 8, ImageChannels = 1 };
        var g = new StyleGan2Generator(config);
        Tensor Brightness(Tensor images) => images.to(ScalarType.Float32).mean(new long[] { 1, 2, 3 });
        var d = WSpaceDirection.Direction(g, Brightness, n: 30, seed: 5, batch: 7);
        Assert.Equal(new long[] { 16 }, d.shape);
        var reversed = WSpaceDirection.Direction(g, x => -Brightness(x), n: 30, seed: 5, batch: 30);
        Assert.True(allclose(d, -reversed, rtol: 1e-5, atol: 1e-6), "the top and bottom thirds are not what the score orders");
        Assert.True(d.abs().max().item<float>() > 0);

        var ws = WSpaceDirection.Sample(g, 4, seed: 9);
        Assert.True(Same(WSpaceDirection.Synthesize(g, ws), WSpaceDirection.Apply(g, ws, d, 0.0)));
        Assert.True(Same(WSpaceDirection.Apply(g, ws, d, 3.0), WSpaceDirection.Synthesize(g, ws + 3.0 * d)));
    }
}
