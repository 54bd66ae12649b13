using Workbench.Data;
using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

public class FashionClassifierTests
{
    [SkippableFact]
    public void AFewStepsLearnTheClassesAndTheCacheGivesTheSameFeatures()
    {
        RequiredData.RequireFashionMnist();
        using var scope = NewDisposeScope();
        using var fullTrain = Datasets.FashionMnist(train: true);
        using var train = fullTrain.Take(4000);
        using var fullTest = Datasets.FashionMnist(train: false);
        using var test = fullTest.Take(1000);
        var cache = Directory.CreateTempSubdirectory("wb-fashion-cls").FullName;
        var (model, accuracy) = FashionClassifier.LoadOrTrain(cache, train, test, steps: 150, seed: 1);
        // Ten classes: chance is 0.1. 150 steps of batch 64 reach ~0.75-0.8.
        Assert.True(accuracy > 0.65, $"test accuracy {accuracy}");
        Assert.Equal(accuracy, model.Accuracy(test), 12);
        Assert.True(File.Exists(FashionClassifier.CachePath(cache, 150, 1)));

        var images = test.Images[TensorIndex.Slice(0, 20)];
        var f = model.Features(images);
        Assert.Equal(new long[] { 20, FashionClassifier.FeatureCount }, f.shape);
        var (cached, cachedAccuracy) = FashionClassifier.LoadOrTrain(cache, train, test, steps: 150, seed: 1);
        Assert.Equal(accuracy, cachedAccuracy);
        Assert.True((f == cached.Features(images)).all().item<bool>(), "the cached classifier gives other features");
        model.Dispose();
        cached.Dispose();
    }

    [SkippableFact]
    public void FeaturesSeparateRealImagesFromShuffledPixels()
    {
        // The defining use: FD on the classifier's features is small between two real samples and large against
        // images with the right pixel statistics but no structure (each image's pixels permuted).
        RequiredData.RequireFashionMnist();
        using var scope = NewDisposeScope();
        using var fullTrain = Datasets.FashionMnist(train: true);
        using var train = fullTrain.Take(3000);
        using var fullTest = Datasets.FashionMnist(train: false);
        using var test = fullTest.Take(600);
        random.manual_seed(2);
        using var model = new FashionClassifier();
        model.Train(train, steps: 30, seed: 2);
        var real1 = model.Features(test.Images[TensorIndex.Slice(0, 300)]);
        var real2 = model.Features(test.Images[TensorIndex.Slice(300, 600)]);
        var flat = test.Images[TensorIndex.Slice(300, 600)].reshape(300, -1);
        var perm = randperm(784, generator: new Generator().manual_seed(3));
        var shuffled = model.Features(flat.index_select(1, perm).reshape(300, 1, 28, 28));
        double same = FrechetDistance.Compute(real1, real2), noise = FrechetDistance.Compute(real1, shuffled);
        Assert.True(noise > 10 * same, $"FD real/real {same}, real/shuffled {noise}");
    }
}
