using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// A domain feature network for Fashion-MNIST: a small CNN classifier (two 3×3 conv + max-pool stages, 32 and 64
/// channels, then a 128-unit hidden layer and a 10-way output) trained in-project by cross-entropy. Its penultimate
/// layer (<see cref="Features"/>, 128-d, after the ReLU) is the feature space for FD, KID, precision/recall and
/// density/coverage on Fashion-MNIST, alongside ImageNet ResNet-18 features, which are weak on 28×28 grayscale images.
/// This follows the practice of FID's domain variants (e.g. Heusel et al. 2017 use Inception; for MNIST-like data a
/// classifier trained on the dataset itself stands in for it). Weights are cached as safetensors by
/// <see cref="LoadOrTrain"/>. Input: images in [−1, 1] (<see cref="Preprocess.ToSigned"/>), [N, 1, 28, 28].
/// </summary>
public sealed class FashionClassifier : nn.Module<Tensor, Tensor>
{
    /// <summary>Penultimate-layer width: the feature dimension.</summary>
    public const int FeatureCount = 128;

    private readonly Sequential body;
    private readonly Linear head;

    public FashionClassifier(int classes = 10) : base(nameof(FashionClassifier))
    {
        body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, FeatureCount), nn.ReLU());
        head = nn.Linear(FeatureCount, classes);
        RegisterComponents();
    }

    /// <summary>Class logits [N, 10] for images in [−1, 1].</summary>
    public override Tensor forward(Tensor x) => head.call(body.call(x));

    /// <summary>Penultimate-layer features [N, 128] (float32, CPU) of uint8 images [N, 1, 28, 28], in eval mode, batched.</summary>
    public Tensor Features(Tensor imagesUint8, int batchSize = 500) => Apply(imagesUint8, batchSize, body.call);

    /// <summary>Predicted classes [N] (int64, CPU) of uint8 images.</summary>
    public Tensor Predict(Tensor imagesUint8, int batchSize = 500) => Apply(imagesUint8, batchSize, x => forward(x).argmax(1));

    /// <summary>Fraction of <paramref name="data"/>'s images whose predicted class is its label.</summary>
    public double Accuracy(ImageDataset data)
    {
        if (data.Labels is null) throw new ArgumentException($"FashionClassifier.Accuracy: {data.Name} has no labels");
        using var scope = NewDisposeScope();
        var pred = Predict(data.Images);
        return (pred == data.Labels.cpu().to(ScalarType.Int64)).to(ScalarType.Float64).mean().item<double>();
    }

    Tensor Apply(Tensor imagesUint8, int batchSize, Func<Tensor, Tensor> f) => BatchedInference.Apply(this, imagesUint8, batchSize, f);

    /// <summary>
    /// Trains by cross-entropy on a labelled dataset (Adam, lr 1e-3, shuffled batches seeded by <paramref name="seed"/>),
    /// returning the log ("loss" per step). Each step runs inside its own dispose scope (<see cref="TrainStep"/>).
    /// </summary>
    public TrainingLog Train(ImageDataset data, int steps = 500, int batchSize = 64, double lr = 1e-3, long seed = 0,
        Action<long, double>? progress = null)
    {
        if (data.Labels is null) throw new ArgumentException($"FashionClassifier.Train: {data.Name} has no labels");
        return SupervisedTraining.Run(this, data, steps, batchSize, lr, seed,
            (logits, b) => nn.functional.cross_entropy(logits, b.Labels!.to(ScalarType.Int64)), progress);
    }

    /// <summary>The cache file for a classifier trained <paramref name="steps"/> steps with <paramref name="seed"/>.</summary>
    public static string CachePath(string cacheFolder, int steps, long seed) =>
        Path.Combine(cacheFolder, $"fashion-classifier-steps{steps}-seed{seed}.safetensors");

    /// <summary>
    /// The classifier from <see cref="CachePath"/> if it exists, else one trained on <paramref name="train"/> (seeded by
    /// <paramref name="seed"/>) and saved there (<see cref="Checkpoint.SaveModule"/>), with its accuracy on
    /// <paramref name="test"/> in the file's metadata as "test_accuracy". Returns the model and that accuracy.
    /// </summary>
    public static (FashionClassifier Model, double TestAccuracy) LoadOrTrain(string cacheFolder, ImageDataset train, ImageDataset test,
        int steps = 500, long seed = 0, Action<long, double>? progress = null)
    {
        var path = CachePath(cacheFolder, steps, seed);
        if (File.Exists(path))
        {
            var cached = new FashionClassifier();
            var info = Checkpoint.LoadModule(path, cached);
            cached.eval();
            double acc = info.Metadata.TryGetValue("test_accuracy", out var a)
                ? double.Parse(a, System.Globalization.CultureInfo.InvariantCulture) : cached.Accuracy(test);
            return (cached, acc);
        }
        random.manual_seed(seed);
        var model = new FashionClassifier();
        model.Train(train, steps, seed: seed, progress: progress);
        double accuracy = model.Accuracy(test);
        Directory.CreateDirectory(cacheFolder);
        var tmp = path + ".tmp";
        Checkpoint.SaveModule(tmp, model, step: steps, extra: new Dictionary<string, string>
        {
            ["test_accuracy"] = accuracy.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["train_data"] = train.Name, ["test_data"] = test.Name,
        });
        File.Move(tmp, path, overwrite: true);
        return (model, accuracy);
    }
}
