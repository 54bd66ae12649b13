using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// Maximum-likelihood training of a <see cref="Glow"/> on an image dataset (Glow, Section 5), in the shape of every
/// <see cref="Trainer"/>: each step dequantizes a uint8 batch to [-0.5, 0.5] and minimises bits/dim inside one
/// dispose scope (<see cref="TrainStep.Run"/>): Adam or Adamax with linear LR warm-up
/// (<see cref="Schedules.LinearWarmup"/>) and gradient-norm clipping, optional Polyak (EMA) weights for evaluation.
/// Reports "train_bpd", "lr" and "grad_norm" every step (logged as means every LogEvery steps), "test_bpd" at each evaluation. A NaN or
/// exploding loss throws <see cref="TrainingDivergedException"/> with the step.
/// </summary>
public sealed class FlowTrainer : Trainer
{
    readonly Glow _model;
    readonly optim.Optimizer _optimizer;
    readonly List<Parameter> _params;
    readonly Glow? _emaModel;   // Polyak-averaged weights (Glow's code evaluates with them), when EmaDecay is set
    readonly Ema? _ema;

    /// <param name="model">the Glow to train (its device is the trainer's).</param>
    /// <param name="config">the training settings.</param>
    /// <param name="train">the training set of the trainer's own loader (null: pass every batch to <see cref="Trainer.TrainStepOn"/>).</param>
    /// <param name="test">held-out data for <see cref="Trainer.Run(RunOptions, CancellationToken)"/>'s evaluations (null: none).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    public FlowTrainer(Glow model, FlowTrainConfig config, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(CheckShape(model, train), test, config.BatchSize, seed, model.parameters().First().device)
    {
        _model = model;
        Config = config;
        _params = model.parameters().Where(p => p.requires_grad).ToList();
        _optimizer = config.Optimizer switch
        {
            FlowOptimizer.Adam => optim.Adam(_params, config.LearningRate),
            FlowOptimizer.Adamax => optim.Adamax(_params, config.LearningRate),
            _ => throw new ArgumentOutOfRangeException(nameof(config), config.Optimizer, "unknown optimizer"),
        };
        if (config.EmaDecay is double decay)
        {
            if (decay is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(config), decay, "FlowTrainConfig.EmaDecay must be in (0, 1)");
            (_emaModel, _ema) = Ema.CreateShadow(model, () => new Glow(model.Config, model.Channels, model.Height, model.Width));
        }
    }

    static ImageDataset? CheckShape(Glow model, ImageDataset? train) =>
        train is not null && (train.Channels != model.Channels || train.Height != model.Height || train.Width != model.Width)
            ? throw new ArgumentException(
                $"FlowTrainer: {train.Name} images are {train.Channels}x{train.Height}x{train.Width}, the model expects " +
                $"{model.Channels}x{model.Height}x{model.Width}")
            : train;

    public FlowTrainConfig Config { get; }

    /// <summary>The Glow being trained.</summary>
    public Glow Model => _model;

    /// <summary>The Polyak-averaged copy of the model (null unless <see cref="FlowTrainConfig.EmaDecay"/> is set): what
    /// <see cref="Trainer.Evaluate"/> measures and checkpoints hold as "ema".</summary>
    public Glow? EmaModel => _emaModel;

    /// <summary>Linear warm-up, then constant.</summary>
    public override double LearningRateAt(long step) => Schedules.LinearWarmup(step, Config.LearningRate, Config.WarmupSteps);

    /// <summary>One optimizer step; reports "train_bpd" and "lr".</summary>
    protected override void TakeStep(Tensor? images)
    {
        _model.train();
        var result = ScheduledStep(_optimizer, _params, () =>
        {
            var x = Preprocess.ToFlowInput(NextBatch(images), _model.Config.NBits, dequantize: true).to(_params[0].dtype);
            return _model.BitsPerDim(x).mean();
        }, Config.MaxGradNorm, divergeAbove: Config.DivergenceBpd, metric: "train bpd");
        // the average starts from the weights after the first step (after ActNorm's data-dependent initialisation)
        _ema?.Update(Step == 0 ? 0 : Config.EmaDecay!.Value);
        Stats.Report("train_bpd", result.Loss);
    }

    /// <summary>Mean "test_bpd" over the first <paramref name="limit"/> examples (<see cref="EvaluateBitsPerDim"/>), with
    /// the EMA weights when Polyak averaging is on.</summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit) =>
        new Dictionary<string, double> { ["test_bpd"] = EvaluateBitsPerDim(_emaModel ?? _model, test, limit, Config.EvalBatchSize) };

    /// <summary>Mean bits/dim of a Glow over a dataset, batched, in eval mode without gradients (the dequantization
    /// noise comes from libtorch's global generator); the model returns to the mode it was in.</summary>
    public static double EvaluateBitsPerDim(Glow model, ImageDataset data, long? limit = null, int batchSize = 500) => EvalMode.Run(model, () =>
    {
        var p = model.parameters().First();
        double sum = 0;
        long n = 0;
        using var _ = no_grad();
        using var outer = NewDisposeScope(); // also owns the loader's slices
        foreach (var batch in BatchLoader.Sequential(data, batchSize, p.device, limit))
        {
            using var scope = NewDisposeScope();
            var x = Preprocess.ToFlowInput(batch.Images, model.Config.NBits, dequantize: true).to(p.dtype);
            sum += model.BitsPerDim(x).sum().item<float>();
            n += x.shape[0];
        }
        return sum / n;
    });

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;
    protected override long EvalEvery => Config.EvalEvery;
    protected override long? EvalLimit => Config.EvalLimit;

    protected override IReadOnlyDictionary<string, nn.Module> Modules => ModelAndEma(_model, _emaModel);
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["optimizer"] = _optimizer };
    protected override object CheckpointConfig => new RunConfig(_model.Config, Config);

    /// <summary>Disposes the optimizer and the EMA copy (the model stays the caller's).</summary>
    public override void Dispose() { _optimizer.Dispose(); _emaModel?.Dispose(); }
}
