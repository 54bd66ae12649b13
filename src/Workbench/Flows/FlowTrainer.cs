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
/// Logs "train_bpd" (mean over the interval) and "lr" every LogEvery steps, "test_bpd" at each evaluation. A NaN or
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
    /// <param name="train">the training set of the trainer's own loader (null: pass every batch to <see cref="TrainStepOn"/>).</param>
    /// <param name="test">held-out data for <see cref="Trainer.Run"/>'s evaluations (null: none).</param>
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
            // a second Glow of the same architecture; building it must not consume the training run's random stream
            using (var saved = random.get_rng_state())
            {
                _emaModel = new Glow(model.Config, model.Channels, model.Height, model.Width);
                random.set_rng_state(saved);
            }
            _emaModel.to(model.parameters().First().device).to(model.parameters().First().dtype);
            _ema = new Ema(model, _emaModel);
            _ema.CopyFromSource();
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
    /// <see cref="Evaluate"/> measures and checkpoints hold as "ema".</summary>
    public Glow? EmaModel => _emaModel;

    /// <summary>Linear warm-up, then constant.</summary>
    public override double LearningRateAt(long step) => Schedules.LinearWarmup(step, Config.LearningRate, Config.WarmupSteps);

    /// <summary>One optimizer step; returns its "train_bpd" and "lr".</summary>
    public override IReadOnlyDictionary<string, double> TrainStepOn(Tensor? images = null)
    {
        long step = Step;
        double lr = LearningRateAt(step);
        Schedules.SetLearningRate(_optimizer, lr);
        _model.train();
        double bpd = TrainStep.Run(_optimizer, _params, () =>
        {
            var x = Preprocess.ToFlowInput(NextBatch(images), _model.Config.NBits, dequantize: true).to(_params[0].dtype);
            return _model.BitsPerDim(x).mean();
        }, step, Config.MaxGradNorm, divergeAbove: Config.DivergenceBpd, metric: "train bpd").Loss;
        Step = step + 1;
        // the average starts from the weights after the first step (after ActNorm's data-dependent initialisation)
        _ema?.Update(Step == 1 ? 0 : Config.EmaDecay!.Value);
        LogIntervalMean("train_bpd", bpd, lr, Config.LogEvery);
        return new Dictionary<string, double> { ["train_bpd"] = bpd, ["lr"] = lr };
    }

    /// <summary>Mean "test_bpd" over the first <paramref name="limit"/> examples (<see cref="EvaluateBitsPerDim"/>), with
    /// the EMA weights when Polyak averaging is on.</summary>
    public override IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit = null)
    {
        double bpd = EvaluateBitsPerDim(_emaModel ?? _model, test, limit, Config.EvalBatchSize);
        Log.Add(Step, ("test_bpd", bpd));
        return new Dictionary<string, double> { ["test_bpd"] = bpd };
    }

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

    protected override long? TotalSteps => Config.Steps;
    protected override long EvalEvery => Config.EvalEvery;
    protected override long? EvalLimit => Config.EvalLimit;

    protected override IReadOnlyDictionary<string, nn.Module> Modules => _emaModel is { } ema
        ? new Dictionary<string, nn.Module> { ["model"] = _model, ["ema"] = ema }
        : new Dictionary<string, nn.Module> { ["model"] = _model };
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["optimizer"] = _optimizer };
    protected override object CheckpointConfig => new RunConfig(_model.Config, Config);

    /// <summary>Disposes the optimizer and the EMA copy (the model stays the caller's).</summary>
    public override void Dispose() { _optimizer.Dispose(); _emaModel?.Dispose(); }
}
