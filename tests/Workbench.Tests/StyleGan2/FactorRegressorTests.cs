using TorchSharp;
using Workbench.Data;
using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

public class FactorRegressorTests
{
    [Fact]
    public void LearnsAFactorThatTheImagesEncode()
    {
        // Factor 0 = brightness in [-1, 1] (constant images plus noise); factor 1 = pure noise (unlearnable).
        random.manual_seed(30);
        var bright = rand(256);
        var noise = randint(-20, 21, new long[] { 256, 1, 8, 8 });
        var imgs = (bright.reshape(256, 1, 1, 1) * 200 + 27 + noise).clamp(0, 255).expand(256, 3, 8, 8).to(ScalarType.Byte);
        var factors = stack(new[] { bright * 2 - 1, rand(256) * 2 - 1 }, 1);
        using var data = new ImageDataset("brightness", imgs, factors: factors, factorNames: new[] { "brightness", "junk" });
        var reg = new FactorRegressor(3, data.FactorNames, width: 8);
        reg.to(torch.CPU);
        var before = reg.Evaluate(data);
        var log = reg.Fit(data, steps: 100, batchSize: 32, lr: 5e-3);
        var after = reg.Evaluate(data);
        Assert.Equal(100, log.Count);
        Assert.True(after[0].item<float>() < 0.05, $"brightness MSE {after[0].item<float>()} (before {before[0].item<float>()})");
        Assert.True(after[1].item<float>() > 0.2, "an unlearnable factor must stay near its variance (1/3)");
        Assert.Equal(0, reg.IndexOf("brightness"));
        Assert.Throws<KeyNotFoundException>(() => reg.IndexOf("smile"));
    }
}
