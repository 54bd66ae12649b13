using System.Diagnostics;
using Workbench.Cli.Families;
using Workbench.Data;
using Workbench.Metrics;
using Workbench.Training;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Cli;

/// <summary>
/// Sample-quality metrics for <c>workbench eval --quality N</c>, for every family (GANs included): N samples drawn by
/// <see cref="IModelFamily.Sample"/> against the first N images of the test split, compared in feature spaces:
/// <list type="bullet">
/// <item>ImageNet ResNet-18 features (<see cref="ResNet18Features"/>): <c>fd_resnet18</c> ("FD on ResNet-18 features",
/// never FID), <c>kid_resnet18</c> ± <c>kid_resnet18_std</c>, <c>precision_resnet18</c>, <c>recall_resnet18</c>,
/// <c>density_resnet18</c>, <c>coverage_resnet18</c>, and the cost <c>feature_images_per_s</c>;</item>
/// <item>on Fashion-MNIST, the same six on the in-project classifier's features (<see cref="FashionClassifier"/>,
/// suffix <c>_fashion_classifier</c>) and that classifier's test accuracy (on <c>fashion-mnist-32</c>, of the centre
/// 28×28 of real and generated images);</item>
/// <item>on procedural faces, the per-factor 1-D Wasserstein distance (<see cref="Wasserstein1D"/>) between the factors
/// a <see cref="FactorRegressor"/> reads from generated and from real faces (<c>factor_w1_&lt;name&gt;</c> and their
/// mean <c>factor_w1_mean</c>), with the regressor's test mean squared error.</item>
/// </list>
/// Beside each metric, its real-vs-real floor (suffix <c>_floor</c>): the next N test images against the same first N,
/// so a number can be read against what two real samples of the same size give. When the test split has fewer than
/// 2N images, the second real set is the first N training images instead (<c>floor_source</c> says which:
/// "test" or "train"; <c>floor_samples</c> how many); without either no floor is reported.
/// The feature networks trained in-project are cached as safetensors in <see cref="Options.CacheFolder"/> (default
/// data/cache in the repository), keyed by dataset, steps and seed, so every run is measured with the same network.
/// </summary>
public static class SampleQuality
{
    /// <summary>What to measure and with what.</summary>
    /// <param name="Samples">generated samples (and as many real test images).</param>
    /// <param name="Seed">seed for sampling and for KID's subsets.</param>
    /// <param name="CacheFolder">where the trained feature networks are cached.</param>
    /// <param name="FeatureSteps">training steps for a feature network that is not cached yet.</param>
    public sealed record Options(int Samples, long Seed, string CacheFolder, int FeatureSteps);

    /// <summary>data/cache in the repository root (or in the current folder outside a checkout).</summary>
    public static string DefaultCacheFolder => Path.Combine(DatasetResolver.FindRepositoryRoot() ?? ".", "data", "cache");

    /// <summary>The metrics for a trained model (see the class summary); <paramref name="dataName"/> is the dataset's registered name.</summary>
    /// <param name="trainSplit">the training split, loaded only when the test split is too small for the floor.</param>
    public static Dictionary<string, object> Measure(IModelFamily family, Trainer trainer, ImageDataset test, string dataName, Options o,
        Func<ImageDataset?>? trainSplit = null, CancellationToken cancel = default)
    {
        int n = (int)Math.Min(o.Samples, test.Count);
        if (n < DensityCoverage.DefaultK + 2)
            throw new UsageException($"eval: --quality needs at least {DensityCoverage.DefaultK + 2} samples (and test images), got {n}.");
        var line = new Dictionary<string, object> { ["quality_samples"] = n };
        using var scope = NewDisposeScope();

        var clock = Stopwatch.StartNew();
        var fake = SampleCommand.InChunks(family, trainer, n, null, o.Seed, "sampling (images)", cancel);
        line["sampling_images_per_s"] = Math.Round(n / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), 2);
        var real = test.Images[..n].cpu();
        // the floor: the next n test images (or n training images), real against real at the same N
        Tensor? other = test.Count >= 2L * n ? test.Images[n..(2 * n)].cpu() : null;
        if (other is not null) line["floor_source"] = "test";
        else if (trainSplit?.Invoke() is { } trainImages && trainImages.Count >= n)
        {
            using (trainImages) other = trainImages.Images[..n].clone();
            line["floor_source"] = "train";
        }
        if (other is not null) line["floor_samples"] = n;
        if (!fake.shape.SequenceEqual(real.shape))
            throw new UsageException($"eval: samples are {Shapes.Of(fake)} but {test.Name} images are {Shapes.Of(real)}.");

        // ImageNet ResNet-18 features.
        clock.Restart();
        Tensor realResNet = null!, fakeResNet = null!;
        Tensor? otherResNet = null;
        int featurized = other is null ? 2 * n : 3 * n;
        using (var resnet = new ResNet18Features())
            StepProgress.Run("ResNet-18 features (images)", featurized, 0, report =>
            {
                realResNet = resnet.Extract(real, progress: (done, _) => { cancel.ThrowIfCancellationRequested(); report(done); });
                fakeResNet = resnet.Extract(fake, progress: (done, _) => { cancel.ThrowIfCancellationRequested(); report(n + done); });
                if (other is not null) otherResNet = resnet.Extract(other, progress: (done, _) => { cancel.ThrowIfCancellationRequested(); report(2 * n + done); });
            });
        line["feature_images_per_s"] = Math.Round(featurized / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), 2);
        AddFeatureMetrics(line, "resnet18", realResNet, fakeResNet, o.Seed);
        if (otherResNet is not null) AddFeatureMetrics(line, "resnet18", realResNet, otherResNet, o.Seed, "_floor");

        bool padded = dataName.Equals("fashion-mnist-32", StringComparison.OrdinalIgnoreCase);
        if (padded || dataName.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            // fashion-mnist-32: the classifier reads the centre 28x28 (the padding's frame is dropped, samples' too)
            using var train = Datasets.Load("fashion-mnist", train: true);
            using var test28 = padded ? Datasets.Load("fashion-mnist", train: false) : null;
            Tensor Frame(Tensor images) => padded ? Datasets.FashionMnist32Crop(images) : images;
            var (classifier, accuracy) = WithProgress($"training the Fashion-MNIST feature classifier ({o.FeatureSteps} steps, cached in {o.CacheFolder})",
                o.FeatureSteps, FashionClassifier.CachePath(o.CacheFolder, o.FeatureSteps, 0),
                progress => FashionClassifier.LoadOrTrain(o.CacheFolder, train, test28 ?? test, o.FeatureSteps, seed: 0, progress: progress));
            using (classifier)
            {
                line["fashion_classifier_accuracy"] = Math.Round(accuracy, 4);
                var realFeatures = classifier.Features(Frame(real));
                AddFeatureMetrics(line, "fashion_classifier", realFeatures, classifier.Features(Frame(fake)), o.Seed);
                if (other is not null) AddFeatureMetrics(line, "fashion_classifier", realFeatures, classifier.Features(Frame(other)), o.Seed, "_floor");
            }
        }

        if (test.Factors is not null && test.FactorNames.SequenceEqual(FaceFactors.Names))
        {
            var (regressor, mse) = FactorRegressorFor(dataName, test, o);
            using (regressor)
            {
                var realFactors = regressor.Predict(real);
                var w1 = Wasserstein1D.PerColumn(realFactors, regressor.Predict(fake));
                for (int f = 0; f < w1.Length; f++) line[$"factor_w1_{FaceFactors.Names[f]}"] = Math.Round(w1[f], 5);
                line["factor_w1_mean"] = Math.Round(w1.Average(), 5);
                if (other is not null)
                {
                    var floor = Wasserstein1D.PerColumn(realFactors, regressor.Predict(other));
                    for (int f = 0; f < floor.Length; f++) line[$"factor_w1_{FaceFactors.Names[f]}_floor"] = Math.Round(floor[f], 5);
                    line["factor_w1_mean_floor"] = Math.Round(floor.Average(), 5);
                }
                line["factor_regressor_test_mse"] = Math.Round(mse, 5);
            }
        }
        return line;
    }

    /// <summary>FD, KID (mean and std over subsets), precision/recall and density/coverage of two feature sets, suffixed
    /// with the space (and <paramref name="suffix"/>, e.g. <c>_floor</c>).</summary>
    static void AddFeatureMetrics(Dictionary<string, object> line, string space, Tensor real, Tensor fake, long seed, string suffix = "")
    {
        foreach (var (k, v) in FeatureSpaceComparison.Measure(real, fake, seed))
            line[(k == "kid_std" ? $"kid_{space}_std" : $"{k}_{space}") + suffix] = Math.Round(v, k.StartsWith("kid") ? 6 : 4);
    }

    /// <summary>Runs <paramref name="load"/> with a step progress display when it will train (no cache file yet).</summary>
    static T WithProgress<T>(string what, int steps, string cachePath, Func<Action<long, double>?, T> load)
    {
        if (File.Exists(cachePath)) return load(null);
        T result = default!;
        StepProgress.Run(what, steps, 0, report => result = load((step, loss) => report(step, new Dictionary<string, double> { ["loss"] = loss })));
        return result;
    }

    /// <summary>The factor regressor for a faces dataset, from the cache or trained on its train split and cached.</summary>
    static (FactorRegressor Model, double TestMse) FactorRegressorFor(string dataName, ImageDataset test, Options o)
    {
        var path = Path.Combine(o.CacheFolder, $"factor-regressor-{dataName}-steps{o.FeatureSteps}-seed0.safetensors");
        random.manual_seed(0);
        var model = new FactorRegressor((int)test.Channels, FaceFactors.Names);
        if (File.Exists(path))
        {
            var info = Checkpoint.LoadModule(path, model);
            model.eval();
            return (model, double.Parse(info.Metadata["test_mse"], System.Globalization.CultureInfo.InvariantCulture));
        }
        using var train = Datasets.Load(dataName, train: true);
        WithProgress<int>($"training the face factor regressor ({o.FeatureSteps} steps, cached in {o.CacheFolder})", o.FeatureSteps, path,
            progress => { model.Fit(train, o.FeatureSteps, seed: 0, progress: progress); return 0; });
        using var perFactor = model.Evaluate(test);
        double mse = perFactor.mean().item<float>();
        Directory.CreateDirectory(o.CacheFolder);
        Checkpoint.SaveModule(path + ".tmp", model, step: o.FeatureSteps, extra: new Dictionary<string, string>
        {
            ["test_mse"] = mse.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ["train_data"] = train.Name,
        });
        File.Move(path + ".tmp", path, overwrite: true);
        return (model, mse);
    }
}
