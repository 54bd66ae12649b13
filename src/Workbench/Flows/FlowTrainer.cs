using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// Maximum-likelihood training of a <see cref="Glow"/> on an image dataset (Glow, Section 5): each step draws a
/// batch, dequantizes it to [-0.5, 0.5], and minimises bits/dim inside one dispose scope
/// (<see cref="TrainStep.Run"/>): Adam or Adamax with linear LR warm-up and gradient-norm clipping, optional
/// Polyak (EMA) weights for evaluation. Logs train bpd and held-out bpd (full test set, batched, no_grad) to a
/// <see cref="TrainingLog"/>. A NaN or exploding loss throws <see cref="TrainingDivergedException"/> with the step.
/// </summary>
public sealed class FlowTrainer : IDisposable
{
    readonly Glow _model;
    readonly ImageDataset? _train;
    readonly ImageDataset? _test;
    readonly BatchLoader? _loader;
    readonly optim.Optimizer _optimizer;
    readonly List<Parameter> _params;
    readonly Glow? _emaModel;   // Polyak-averaged weights (Glow's code evaluates with them), when EmaDecay is set
    readonly Ema? _ema;
    double _bpdSum;
    int _bpdCount;

    /// <param name="model">the Glow to train (its device is the trainer's).</param>
    /// <param name="test">held-out data for <see cref="Run"/>'s evaluations (optional).</param>
    /// <param name="config">the training settings.</param>
    /// <param name="train">the training set; null when the caller feeds every batch through <see cref="TrainStepOn"/>
    /// (the command line does, with its own resumable loader).</param>
    public FlowTrainer(Glow model, ImageDataset? train, ImageDataset? test, FlowTrainConfig config)
    {
        if (train is not null && (train.Channels != model.Channels || train.Height != model.Height || train.Width != model.Width))
            throw new ArgumentException(
                $"FlowTrainer: {train.Name} images are {train.Channels}x{train.Height}x{train.Width}, the model expects " +
                $"{model.Channels}x{model.Height}x{model.Width}");
        _model = model;
        _train = train;
        _test = test;
        Config = config;
        var device = model.parameters().First().device;
        _loader = train is null ? null : new BatchLoader(train, config.BatchSize, shuffle: true, seed: config.Seed, device: device);
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
            _emaModel.to(device).to(model.parameters().First().dtype);
            _ema = new Ema(model, _emaModel);
            _ema.CopyFromSource();
        }
    }

    public FlowTrainConfig Config { get; }
    public TrainingLog Log { get; } = new();

    /// <summary>Optimizer steps taken so far.</summary>
    public long Step { get; set; }

    /// <summary>The optimizer (for checkpoints: its state resumes with the run).</summary>
    public optim.Optimizer Optimizer => _optimizer;

    /// <summary>The learning rate at a step: linear warm-up, then constant.</summary>
    public double LearningRateAt(long step) =>
        Config.WarmupSteps <= 0 ? Config.LearningRate : Config.LearningRate * Math.Min(1.0, (step + 1) / (double)Config.WarmupSteps);

    /// <summary>One optimizer step on the next batch of the trainer's own loader; returns its train bits/dim.</summary>
    public double TrainStep() => TrainStepOn(null);

    /// <summary>One optimizer step on a given uint8 batch [B, C, H, W] (null: the trainer's next batch).</summary>
    public double TrainStepOn(Tensor? images)
    {
        double lr = LearningRateAt(Step);
        foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;
        long step = Step + 1;
        _model.train();
        double bpd = double.NaN;
        Training.TrainStep.Run(_optimizer, _params, () =>
        {
            var x = Preprocess.ToFlowInput(images ?? (_loader ?? throw new InvalidOperationException("FlowTrainer was built without a training set: pass the batch")).Next().Images, _model.Config.NBits, dequantize: true).to(_params[0].dtype);
            var loss = _model.BitsPerDim(x).mean();
            bpd = loss.item<float>();
            if (double.IsFinite(bpd) && bpd > Config.DivergenceBpd)
                throw new TrainingDivergedException(step, "train bpd", bpd);
            return loss;
        }, step, Config.MaxGradNorm);
        Step = step;
        // the average starts from the weights after the first step (after ActNorm's data-dependent initialisation)
        _ema?.Update(step == 1 ? 0 : Config.EmaDecay!.Value);
        _bpdSum += bpd;
        _bpdCount++;
        return bpd;
    }

    /// <summary>Mean bits/dim over a dataset (first <paramref name="limit"/> examples), batched, in eval mode
    /// without gradients; with the EMA weights when Polyak averaging is on.</summary>
    public double Evaluate(ImageDataset data, long? limit = null, int? batchSize = null) =>
        EvaluateBitsPerDim(_emaModel ?? _model, data, limit, batchSize ?? Config.EvalBatchSize);

    /// <summary>The Polyak-averaged copy of the model (null unless <see cref="FlowTrainConfig.EmaDecay"/> is set): what
    /// <see cref="Evaluate"/> measures; checkpoints must save it alongside the model.</summary>
    public Glow? EmaModel => _emaModel;

    /// <summary>Mean bits/dim of a Glow over a dataset, batched, in eval mode without gradients (the dequantization
    /// noise comes from libtorch's global generator).</summary>
    public static double EvaluateBitsPerDim(Glow model, ImageDataset data, long? limit = null, int batchSize = 500)
    {
        bool wasTraining = model.training;
        model.eval();
        var p = model.parameters().First();
        double sum = 0;
        long n = 0;
        try
        {
            using var _ = no_grad();
            using var outer = NewDisposeScope(); // also owns the loader's slices
            foreach (var batch in BatchLoader.Sequential(data, batchSize, p.device, limit))
            {
                using var scope = NewDisposeScope();
                var x = Preprocess.ToFlowInput(batch.Images, model.Config.NBits, dequantize: true).to(p.dtype);
                sum += model.BitsPerDim(x).sum().item<float>();
                n += x.shape[0];
            }
        }
        finally { model.train(wasTraining); }
        return sum / n;
    }

    /// <summary>
    /// Runs until <see cref="FlowTrainConfig.Steps"/> (or <paramref name="steps"/> more steps), logging
    /// "train_bpd" every LogEvery steps and "test_bpd" every EvalEvery steps and at the end.
    /// <paramref name="onLog"/> sees the log after each logged row (e.g. to update a live chart).
    /// </summary>
    public TrainingLog Run(int? steps = null, Action<TrainingLog>? onLog = null, CancellationToken cancel = default)
    {
        long end = steps is int s ? Step + s : Config.Steps;
        var clock = Stopwatch.StartNew();
        long startStep = Step;
        while (Step < end && !cancel.IsCancellationRequested)
        {
            TrainStep();
            bool logNow = Config.LogEvery > 0 && Step % Config.LogEvery == 0;
            bool evalNow = _test is not null && (Step == end || (Config.EvalEvery > 0 && Step % Config.EvalEvery == 0));
            if (!logNow && !evalNow) continue;
            var row = new List<(string, double)>();
            if (_bpdCount > 0) { row.Add(("train_bpd", _bpdSum / _bpdCount)); _bpdSum = 0; _bpdCount = 0; }
            row.Add(("lr", LearningRateAt(Step - 1)));
            if (evalNow) row.Add(("test_bpd", Evaluate(_test!, Config.EvalLimit)));
            Log.Add(Step, row.ToArray());
            if (Config.Verbose)
                Console.WriteLine($"step {Step}/{end}  " + string.Join("  ", row.Select(r => $"{r.Item1} {r.Item2:G4}")) +
                                  $"  ({clock.Elapsed.TotalSeconds / (Step - startStep):F3} s/step)");
            if (evalNow && Config.LogCsv is string path) Log.SaveCsv(path);
            onLog?.Invoke(Log);
        }
        if (Config.LogCsv is string final) Log.SaveCsv(final);
        return Log;
    }

    public void Dispose() { _optimizer.Dispose(); _emaModel?.Dispose(); }
}
