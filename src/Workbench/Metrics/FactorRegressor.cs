using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// A small CNN that reads the generative factors of an image (e.g. the procedural faces' expression, smile … frown)
/// by regression on a labelled dataset (<see cref="ImageDataset.Factors"/>). Used to rate generated samples, e.g.
/// to find a direction in a GAN's W space that changes one factor, or to check a traversal moves what it claims.
/// Input: images in [−1, 1] (<see cref="Preprocess.ToSigned"/>); output: the factors [N, F] in the dataset's units.
/// </summary>
public sealed class FactorRegressor : nn.Module<Tensor, Tensor>
{
    private readonly Sequential net;

    public FactorRegressor(int imageChannels, IReadOnlyList<string> factorNames, int width = 32) : base(nameof(FactorRegressor))
    {
        if (factorNames.Count == 0) throw new ArgumentException("FactorRegressor: need at least one factor name");
        FactorNames = factorNames;
        net = nn.Sequential(
            nn.Conv2d(imageChannels, width, 3, padding: 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 4, stride: 2, padding: 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride: 2, padding: 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 2 * width, 4, stride: 2, padding: 1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(2 * width, 2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, factorNames.Count));
        RegisterComponents();
    }

    public IReadOnlyList<string> FactorNames { get; }

    /// <summary>The column of <paramref name="name"/> in the output.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < FactorNames.Count; i++) if (FactorNames[i] == name) return i;
        throw new KeyNotFoundException($"FactorRegressor: no factor '{name}'; it knows {string.Join(", ", FactorNames)}");
    }

    /// <summary>Predicted factors [N, F] for images in [−1, 1].</summary>
    public override Tensor forward(Tensor x) => net.call(x);

    /// <summary>Predicted factors for uint8 images [N, C, H, W], in eval mode without gradients, in batches.</summary>
    public Tensor Predict(Tensor imagesUint8, int batchSize = 256) => BatchedInference.Apply(this, imagesUint8, batchSize, forward);

    /// <summary>
    /// Trains on a labelled dataset by mean squared error over all factors (Adam, lr 2e-3), returning the log
    /// ("loss" per step). Each step runs inside its own dispose scope (<see cref="TrainStep"/>).
    /// </summary>
    public TrainingLog Fit(ImageDataset data, int steps = 500, int batchSize = 64, double lr = 2e-3, long seed = 0,
        Action<long, double>? progress = null)
    {
        if (data.Factors is null) throw new ArgumentException($"FactorRegressor.Fit: dataset {data.Name} has no factors");
        if (data.Factors.shape[1] != FactorNames.Count)
            throw new ArgumentException($"FactorRegressor.Fit: dataset {data.Name} has {data.Factors.shape[1]} factors, the regressor {FactorNames.Count}");
        return SupervisedTraining.Run(this, data, steps, batchSize, lr, seed,
            (predicted, b) => nn.functional.mse_loss(predicted, b.Factors!), progress);
    }

    /// <summary>Mean squared error per factor on a dataset (e.g. the test split): [F] on the CPU.</summary>
    public Tensor Evaluate(ImageDataset data)
    {
        using var pred = Predict(data.Images);
        return (pred - data.Factors!).square().mean(new long[] { 0 });
    }
}
