using Workbench.Metrics;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

/// <summary>StyleGAN2 §5's projection into W: its schedules, the noise regulariser and that it reproduces a target.</summary>
public class ProjectorTests
{
    [Fact]
    public void NoiseRegularizationMatchesItsClosedFormOnConstantAndCheckerboardMaps()
    {
        using var scope = NewDisposeScope();
        // a constant map correlates fully with its shifts at every level of the pyramid 32, 16, 8: 3 levels × 2 axes
        Assert.Equal(6.0, Projector.NoiseRegularization(ones(2, 1, 32, 32)).mean().item<float>(), 5);
        // a checkerboard anticorrelates (−1, squared 1) at 32×32 and averages to 0 below: 2
        var board = (arange(32).reshape(32, 1) + arange(32).reshape(1, 32)).remainder(2) * 2 - 1;
        Assert.Equal(2.0, Projector.NoiseRegularization(board.to(ScalarType.Float32).reshape(1, 1, 32, 32)).item<float>(), 5);
        // rows + + − − repeated (constant along x): at 32, 1 along x and 0 along y; at 16 the rows alternate, 1 + 1; at 8, 0
        var rows = tensor(Enumerable.Range(0, 32).Select(i => i % 4 < 2 ? 1f : -1f).ToArray()).reshape(1, 1, 32, 1).expand(1, 1, 32, 32).contiguous();
        Assert.Equal(3.0, Projector.NoiseRegularization(rows).item<float>(), 5);
        // white noise: near zero
        random.manual_seed(0);
        Assert.True(Projector.NoiseRegularization(randn(1, 1, 32, 32)).item<float>() < 0.01);
    }

    [Fact]
    public void TheSchedulesRampAsThePapersProjector()
    {
        var c = new ProjectionConfig();
        Assert.Equal(0.0, c.LearningRate(0), 12);
        Assert.Equal(0.05, c.LearningRate(0.025), 12);           // half-way through the 5% warm-up
        Assert.Equal(0.1, c.LearningRate(0.5), 12);
        Assert.Equal(0.05, c.LearningRate(0.875), 9);            // half-way down the cosine over the last 25%
        Assert.Equal(0.05, c.WNoiseFactor(0), 12);
        Assert.Equal(0.05 * 0.25, c.WNoiseFactor(0.375), 12);   // (1 − 0.375/0.75)² = 1/4
        Assert.Equal(0.0, c.WNoiseFactor(0.8), 12);
    }

    [Fact]
    public void AProjectionOfAGeneratedImageReproducesIt()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        using var g = new StyleGan2Generator(ComponentTests.TinyConfig(8));
        foreach (var layer in g.Synthesis.Layers) using (no_grad()) layer.Noise.Strength.fill_(0.1);
        var targets = g.Sample(2, seed: 3);
        using var features = new ResNet18Network(inputSide: 32);
        var config = ProjectionConfig.Small with { Steps = 60, WAvgSamples = 200 };
        var r = Projector.Project(g, features, targets, config, seed: 0);
        // the projected images are far closer to the targets than the average face the projection starts from
        var wMean = g.Mapping.call(randn(200, g.Config.ZDim)).mean(new long[] { 0 }).detach();
        var start = g.Synthesize(wMean.reshape(1, 1, -1).expand(2, g.NumWs, -1), NoiseMode.Const);
        double before = (start - targets).square().mean().item<float>();
        Assert.True(r.PixelMse.Max() < 0.25 * before, $"pixel MSE after {r.PixelMse.Max():G3}, at w_avg {before:G3}");
        Assert.True(r.LossPerStep[^1] < 0.5 * r.LossPerStep[0], $"loss {r.LossPerStep[0]:G3} -> {r.LossPerStep[^1]:G3}");
        Assert.Equal(new long[] { 2, g.Config.WDim }, r.W.shape);
        Assert.All(g.Synthesis.Layers, l => Assert.Null(l.Noise.Given));   // the generator is left as it was
        Assert.All(g.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void AucCountsPairsAndTiesOneHalf()
    {
        Assert.Equal(1.0, Auc.Compute(new[] { 3.0, 4.0 }, new[] { 1.0, 2.0 }));
        Assert.Equal(0.5, Auc.Compute(new[] { 1.0, 2.0 }, new[] { 1.0, 2.0 }));
        // pairs (p, n): (2,1) win, (2,3) loss, (4,1) win, (4,3) win, ties none: 3/4
        Assert.Equal(0.75, Auc.Compute(new[] { 2.0, 4.0 }, new[] { 1.0, 3.0 }));
        Assert.Equal(0.0, Auc.Compute(new[] { 0.0 }, new[] { 1.0, 2.0 }));
    }
}
