using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// Maximum-likelihood training of an autoregressive image model (<see cref="IPixelModel"/>: PixelCNN, Gated PixelCNN,
/// PixelCNN++, MAF), in the shape of every <see cref="Trainer"/>: each step minimises the negative log-likelihood in
/// bits/dim of a uint8 batch (the chain rule, van den Oord et al. 2016a, Eq. 1: exact for the pixel models, whose
/// likelihoods are discrete; MAF's dequantization bound) with Adam and an
/// exponentially decaying learning rate, and updates a Polyak-averaged copy of the weights (PixelCNN++'s released
/// training). A conditional model gets the batch's class labels. Reports "train_bpd", "lr" and "grad_norm" every step,
/// "test_bpd" at each evaluation; a NaN or exploding loss throws <see cref="TrainingDivergedException"/>.
/// </summary>
public sealed class AutoregressiveTrainer : Trainer
{
    readonly nn.Module _model;
    readonly nn.Module? _emaModel;
    readonly Ema? _ema;
    readonly optim.Optimizer _optimizer;
    readonly List<Parameter> _params;

    /// <param name="model">the pixel model to train (<see cref="PixelModels.Create"/>; its device is the trainer's).</param>
    /// <param name="config">the training settings.</param>
    /// <param name="train">the training set of the trainer's own loader (null: pass every batch to <see cref="Trainer.TrainStepOn"/>).</param>
    /// <param name="test">held-out data for the run's evaluations (null: none).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    public AutoregressiveTrainer(nn.Module model, AutoregressiveTrainConfig config, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(CheckData(model, train), test, config.BatchSize, seed, model.parameters().First().device)
    {
        _model = model;
        Config = config;
        _params = model.parameters().Where(p => p.requires_grad).ToList();
        _optimizer = optim.Adam(_params, config.LearningRate);
        if (config.EmaDecay is double decay)
        {
            if (decay is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(config), decay, "AutoregressiveTrainConfig.EmaDecay must be in (0, 1)");
            (_emaModel, _ema) = Ema.CreateShadow(model, () => PixelModels.Create(PixelModels.ConfigOf(model)));
        }
    }

    static ImageDataset? CheckData(nn.Module model, ImageDataset? train)
    {
        var m = model as IPixelModel ?? throw new ArgumentException($"AutoregressiveTrainer: {model.GetType().Name} is not a pixel model", nameof(model));
        if (train is null) return null;
        if (train.Channels != m.ImageChannels || train.Height != m.ImageSize || train.Width != m.ImageSize)
            throw new ArgumentException($"AutoregressiveTrainer: {train.Name} images are {train.Channels}x{train.Height}x{train.Width}, " +
                $"the model expects {m.ImageChannels}x{m.ImageSize}x{m.ImageSize}");
        if (m.Classes > 0 && train.Labels is null)
            throw new ArgumentException($"AutoregressiveTrainer: the model is conditioned on {m.Classes} classes and {train.Name} has no labels");
        return train;
    }

    public AutoregressiveTrainConfig Config { get; }

    /// <summary>The model being trained.</summary>
    public nn.Module Model => _model;

    /// <summary>The model that evaluates and samples: the Polyak-averaged copy, or the trained one when
    /// <see cref="AutoregressiveTrainConfig.EmaDecay"/> is null.</summary>
    public nn.Module InferenceModel => _emaModel ?? _model;

    /// <summary>lr₀ · decay^step (PixelCNN++'s schedule).</summary>
    public override double LearningRateAt(long step) => Config.LearningRate * Math.Pow(Config.LearningRateDecay, step);

    /// <summary>One Adam step on the batch's bits/dim; reports "train_bpd".</summary>
    protected override void TakeStep(Tensor? images)
    {
        _model.train();
        var result = ScheduledStep(_optimizer, _params, () =>
        {
            var batch = NextLabelledBatch(images);
            var m = (IPixelModel)_model;
            return PixelLikelihood.BitsPerDim(m.LogProb(batch.Images, m.Classes > 0 ? batch.Labels : null), batch.Images).mean();
        }, Config.MaxGradNorm, divergeAbove: Config.DivergenceBpd, metric: "train bpd");
        _ema?.Update(Step == 0 ? 0 : Config.EmaDecay!.Value);
        Stats.Report("train_bpd", result.Loss);
    }

    /// <summary>Mean "test_bpd" over the first <paramref name="limit"/> held-out images (<see cref="EvaluateBitsPerDim"/>).</summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit) =>
        new Dictionary<string, double> { ["test_bpd"] = EvaluateBitsPerDim(InferenceModel, test, limit ?? Config.EvalLimit, Config.EvalBatchSize) };

    /// <summary>Mean bits/dim of an autoregressive image model over the first <paramref name="limit"/> images of a dataset (null: all),
    /// batched, in eval mode without gradients (conditional models get the labels); the model returns to its mode.</summary>
    public static double EvaluateBitsPerDim(nn.Module model, ImageDataset data, long? limit = null, int batchSize = 250) => EvalMode.Run(model, () =>
    {
        var m = model as IPixelModel ?? throw new ArgumentException($"{model.GetType().Name} is not a pixel model", nameof(model));
        var device = model.parameters().First().device;
        double sum = 0;
        long n = 0;
        using var _ = no_grad();
        using var outer = NewDisposeScope();
        foreach (var batch in BatchLoader.Sequential(data, batchSize, device, limit))
        {
            using var scope = NewDisposeScope();
            sum += PixelLikelihood.BitsPerDim(m.LogProb(batch.Images, m.Classes > 0 ? batch.Labels : null), batch.Images).sum().to(ScalarType.Float64).item<double>();
            n += batch.Images.shape[0];
        }
        return sum / n;
    });

    /// <summary>n uint8 images from <see cref="InferenceModel"/> (labels [n] for a conditional model).</summary>
    public Tensor SampleImages(int n, double temperature = 1.0, Tensor? labels = null, Action<Tensor, long>? onPixel = null) =>
        ((IPixelModel)InferenceModel).Sample(n, temperature, labels, onPixel);

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;
    protected override long EvalEvery => Config.EvalEvery;
    protected override long? EvalLimit => Config.EvalLimit;

    protected override IReadOnlyDictionary<string, nn.Module> Modules => ModelAndEma(_model, _emaModel);
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["optimizer"] = _optimizer };
    protected override object CheckpointConfig => new RunConfig(PixelModels.ConfigOf(_model), Config);

    /// <summary>Disposes the optimizer and the averaged copy (the model stays the caller's).</summary>
    public override void Dispose() { _optimizer.Dispose(); _emaModel?.Dispose(); }
}
