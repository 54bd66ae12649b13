using System.Text.Json;
using Workbench.Metrics;

namespace Workbench.Tests.Cli;

/// <summary><c>workbench eval --quality N</c>: sample-quality metrics for a GAN on faces and a VAE on Fashion-MNIST, tiny sizes.</summary>
[Collection(CliCollection.Name)]
public class SampleQualityCliTests
{
    static JsonElement LastLine(string output) => JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

    static void AssertFeatureMetrics(JsonElement r, string space)
    {
        Assert.True(r.GetProperty($"fd_{space}").GetDouble() > 0, $"fd_{space}");
        Assert.True(double.IsFinite(r.GetProperty($"kid_{space}").GetDouble()));
        Assert.True(r.GetProperty($"kid_{space}_std").GetDouble() >= 0);
        foreach (var m in new[] { "precision", "recall", "coverage" })
            Assert.InRange(r.GetProperty($"{m}_{space}").GetDouble(), 0, 1);
        Assert.True(r.GetProperty($"density_{space}").GetDouble() >= 0);
    }

    [Fact]
    public void AGanOnFacesGetsResNetMetricsAndFactorDistances()
    {
        var root = Directory.CreateTempSubdirectory("wb-quality").FullName;
        var run = Path.Combine(root, "run");
        var cache = Path.Combine(root, "cache");
        var t = CliTestHost.Run("train", "stylegan2", "--steps", "2", "--out", run, "--set", "ChannelMax=8", "--set", "MappingLayers=2",
            "--set", "WDim=8", "--set", "ZDim=8", "--batch", "4", "--sample-every", "0");
        Assert.True(t.Code == 0, t.Err);
        var e = CliTestHost.Run("eval", run, "--quality", "8", "--feature-steps", "3", "--feature-cache", cache);
        Assert.True(e.Code == 0, e.Err);
        var r = LastLine(e.Out);
        Assert.Equal(8, r.GetProperty("quality_samples").GetInt32());
        AssertFeatureMetrics(r, "resnet18");
        Assert.True(r.GetProperty("feature_images_per_s").GetDouble() > 0);
        foreach (var name in Workbench.Data.FaceFactors.Names)
            Assert.True(r.GetProperty($"factor_w1_{name}").GetDouble() >= 0, name);
        Assert.True(r.GetProperty("factor_w1_mean").GetDouble() > 0);
        Assert.False(r.TryGetProperty("fd_fashion_classifier", out _));
        Assert.Single(Directory.GetFiles(cache, "factor-regressor-faces32-steps3-seed0.safetensors"));
        // A second eval reads the cached regressor and, with the same seed, gives the same numbers.
        var again = CliTestHost.Run("eval", run, "--quality", "8", "--feature-steps", "3", "--feature-cache", cache);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(r.GetProperty("factor_w1_mean").GetDouble(), LastLine(again.Out).GetProperty("factor_w1_mean").GetDouble());
        Assert.Equal(r.GetProperty("fd_resnet18").GetDouble(), LastLine(again.Out).GetProperty("fd_resnet18").GetDouble());

        var few = CliTestHost.Run("eval", run, "--quality", "3", "--feature-cache", cache);
        Assert.Equal(2, few.Code);
        Assert.Contains("--quality needs at least", few.Err);
    }

    [SkippableFact]
    public void AVaeOnFashionMnistGetsBothFeatureSpaces()
    {
        RequiredData.RequireFashionMnist();
        var root = Directory.CreateTempSubdirectory("wb-quality").FullName;
        var run = Path.Combine(root, "run");
        var cache = Path.Combine(root, "cache");
        // A cached classifier (untrained weights, a stated accuracy): eval must read it, not train one (which would
        // also cost a pass over the 10,000 test images for its accuracy).
        using (var classifier = new FashionClassifier())
            Workbench.Training.Checkpoint.SaveModule(FashionClassifier.CachePath(cache, 3, 0), classifier, step: 3,
                extra: new Dictionary<string, string> { ["test_accuracy"] = "0.5" });
        var t = CliTestHost.Run("train", "vae", "--steps", "2", "--out", run, "--set", "StemChannels=4", "--set", "Widths=4,8",
            "--set", "LatentChannels=2", "--set", "Components=2", "--batch", "8", "--sample-every", "0", "--eval-limit", "16");
        Assert.True(t.Code == 0, t.Err);
        var e = CliTestHost.Run("eval", run, "--eval-limit", "16", "--quality", "8", "--feature-steps", "3", "--feature-cache", cache);
        Assert.True(e.Code == 0, e.Err);
        var r = LastLine(e.Out);
        AssertFeatureMetrics(r, "resnet18");
        AssertFeatureMetrics(r, "fashion_classifier");
        Assert.Equal(0.5, r.GetProperty("fashion_classifier_accuracy").GetDouble());
        Assert.False(r.TryGetProperty("factor_w1_mean", out _));
    }

    /// <summary>A test split too small for the real-vs-real floor at N (fewer than 2N images) takes its second real set
    /// from the training split, and says so (floor_source "train"); the image folder's split has fewer than 2 × 7 test
    /// images.</summary>
    [Fact]
    public void FloorComesFromTheTrainingSplitWhenTheTestSplitIsTooSmall()
    {
        var run = RunFixtures.NewRun("quality-floor");
        var cache = Path.Combine(Path.GetDirectoryName(run)!, "cache");
        var t = CliTestHost.Run(RunFixtures.TinyGlow(run, 1));
        Assert.True(t.Code == 0, t.Err);
        long testImages = Workbench.Data.ImageFolder.Load(RunFixtures.Images, 8, train: false).Count;
        Assert.InRange(testImages, 7, 13);
        var e = CliTestHost.Run("eval", run, "--quality", "7", "--skip-heldout", "--feature-cache", cache);
        Assert.True(e.Code == 0, e.Err);
        var r = LastLine(e.Out);
        Assert.Equal("train", r.GetProperty("floor_source").GetString());
        Assert.Equal(7, r.GetProperty("floor_samples").GetInt32());
        Assert.True(r.GetProperty("fd_resnet18_floor").GetDouble() > 0);
    }
}
