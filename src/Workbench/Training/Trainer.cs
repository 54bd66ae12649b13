using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>The model's and the training's config records, as a trainer writes them into its checkpoints.</summary>
public sealed record RunConfig(object Model, object Training);

/// <summary>Runs code with a module in eval mode and puts it back in the mode it was in, also when the code throws.</summary>
public static class EvalMode
{
    public static T Run<T>(nn.Module module, Func<T> body)
    {
        bool wasTraining = module.training;
        module.eval();
        try { return body(); }
        finally { module.train(wasTraining); }
    }
}

/// <summary>
/// The shape of every trainer (<c>FlowTrainer</c>, <c>NvaeTrainer</c>, <c>DiffusionTrainer</c>, <c>StyleGan2Trainer</c>):
/// built from the model(s) it trains and a config record, optionally with a training set (its own shuffled loader,
/// seeded by <c>seed</c>) and a held-out set. A trainer writes its phases (<see cref="TakeStep"/>), its held-out
/// measurement (<see cref="Measure"/>) and its checkpoint contents; the rest is here, once:
/// <see cref="TrainStepOn"/> takes one step and reduces the values its phases report to <see cref="Stats"/> into a row of
/// <see cref="Log"/> every <see cref="LogEvery"/> steps; <see cref="Evaluate"/> measures and logs held-out metrics;
/// <see cref="Run(RunOptions, CancellationToken)"/> is the training loop of the notebooks, the command line and sweeps
/// (evaluations every <see cref="EvalEvery"/> steps, checkpoint and sample policies, cancellation);
/// <see cref="Save"/> and <see cref="Load"/> write and restore the whole training state (modules, optimizers, step,
/// data position, the open statistics interval, run state, libtorch's CPU generator) and keep the log beside it.
/// </summary>
public abstract class Trainer : IDisposable
{
    readonly BatchLoader? _loader;
    readonly long _seed;

    /// <param name="train">the training set for the trainer's own loader (null: every batch is passed to <see cref="TrainStepOn"/>).</param>
    /// <param name="test">held-out data for <see cref="Run(RunOptions, CancellationToken)"/>'s evaluations (null: none).</param>
    /// <param name="batchSize">the loader's batch size.</param>
    /// <param name="seed">the loader's shuffling seed.</param>
    /// <param name="device">where the loader puts batches (the models' device).</param>
    protected Trainer(ImageDataset? train, ImageDataset? test, int batchSize, long seed, Device device)
    {
        Test = test;
        _seed = seed;
        _loader = train is null ? null : new BatchLoader(train, batchSize, shuffle: true, seed: seed, device: device);
    }

    /// <summary>The held-out set <see cref="Run(RunOptions, CancellationToken)"/> evaluates on (null: none).</summary>
    public ImageDataset? Test { get; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; set; }

    /// <summary>The training log: a row of <see cref="Stats"/> means every <see cref="LogEvery"/> steps and a row per evaluation.</summary>
    public TrainingLog Log { get; private set; } = new();

    /// <summary>Where the phases report their values (<c>Stats.Report(name, value)</c>).</summary>
    public TrainingStats Stats { get; } = new();

    /// <summary>The learning rate of the step with this 0-based index.</summary>
    public abstract double LearningRateAt(long step);

    /// <summary>Rows of training statistics every this many steps (0: only when <see cref="LogStats"/> is called).</summary>
    protected abstract int LogEvery { get; }

    /// <summary>True while the step in progress will end with a log row (for statistics too costly for every step).</summary>
    protected bool LogsThisStep => LogEvery > 0 && (Step + 1) % LogEvery == 0;

    /// <summary>
    /// The phases of one training step on a uint8 batch [B, C, H, W] (null: the trainer's own next batch,
    /// <see cref="NextBatch"/>), reporting to <see cref="Stats"/>; <see cref="Step"/> is the step's 0-based index.
    /// Each phase goes through <see cref="TrainStep.Run"/>, so a non-finite loss throws
    /// <see cref="TrainingDivergedException"/> before its parameters change.
    /// </summary>
    protected abstract void TakeStep(Tensor? images);

    /// <summary>
    /// A phase at the step's scheduled learning rate: sets <see cref="LearningRateAt"/>(<see cref="Step"/>) on
    /// <paramref name="optimizer"/>, takes <see cref="TrainStep.Run"/> and reports "lr" and "grad_norm".
    /// </summary>
    protected StepResult ScheduledStep(optim.Optimizer optimizer, IEnumerable<Parameter> parameters, Func<Tensor> loss,
        double? maxGradNorm, double? divergeAbove = null, string metric = "loss")
    {
        double lr = LearningRateAt(Step);
        Schedules.SetLearningRate(optimizer, lr);
        var result = TrainStep.Run(optimizer, parameters, loss, Step, maxGradNorm, divergeAbove, metric);
        Stats.Report("lr", lr);
        Stats.Report("grad_norm", result.GradNorm);
        return result;
    }

    /// <summary>One training step (<see cref="TakeStep"/>) inside a dispose scope; returns the values it reported, and
    /// logs the interval's means when a row is due.</summary>
    public IReadOnlyDictionary<string, double> TrainStepOn(Tensor? images = null)
    {
        Stats.BeginStep();
        using (NewDisposeScope()) TakeStep(images);
        Step++;
        Stats.EndStep();
        if (LogEvery > 0 && Step % LogEvery == 0) LogStats();
        return Stats.StepValues;
    }

    /// <summary>Logs the means of the open statistics interval as a row at the current step (nothing when it is empty).</summary>
    public void LogStats()
    {
        if (Stats.Pending) Log.Add(Step, Stats.Reduce());
    }

    /// <summary>Held-out metrics on the first <paramref name="limit"/> examples (null: all) in eval mode without
    /// gradients, logged at the current step; the models return to the mode they were in, also on exceptions.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit = null)
    {
        var results = Measure(test, limit);
        if (results.Count > 0) Log.Add(Step, results.Select(kv => (kv.Key, kv.Value)).ToArray());
        return results;
    }

    /// <summary>What <see cref="Evaluate"/> measures (empty: the family has no held-out metric).</summary>
    protected abstract IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit);

    /// <summary>Where <see cref="Run(RunOptions, CancellationToken)"/> stops without a step count (null: it needs one).</summary>
    protected virtual long? TotalSteps => null;

    /// <summary>The run evaluates on <see cref="Test"/> every this many steps (0: only at the end).</summary>
    protected virtual long EvalEvery => 0;

    /// <summary>The held-out examples the run's evaluations use (null: all).</summary>
    protected virtual long? EvalLimit => null;

    /// <summary>
    /// Takes <paramref name="steps"/> more steps (null: until the config's total), stopping early when
    /// <paramref name="cancel"/> is signalled; evaluates on <see cref="Test"/> every <see cref="EvalEvery"/> steps and
    /// after the last. <paramref name="onLog"/> sees the log after each step that added a row (e.g. to update a chart).
    /// </summary>
    public TrainingLog Run(long? steps = null, Action<TrainingLog>? onLog = null, CancellationToken cancel = default)
    {
        Run(new RunOptions { Steps = steps, OnLog = onLog }, cancel);
        return Log;
    }

    /// <summary>
    /// The training loop: steps until the run's end (<see cref="RunOptions.Steps"/> more, or the config's total) or
    /// <see cref="RunOptions.Until"/>; after each step, a held-out evaluation when one is due (libtorch's generator is
    /// put back afterwards, so a run trains the same steps whatever its <see cref="EvalEvery"/>), the new log rows to
    /// <see cref="RunOptions.OnLog"/>, a checkpoint when due (and at the last step), progress, samples when due; the last
    /// step logs the open interval's row and evaluates (<see cref="RunOptions.FinalEvaluation"/>), and samples once more
    /// if it was not a sample step. Cancellation stops an evaluation in progress within one batch and saves a
    /// checkpoint of the last completed step. A diverged step logs the rows before it and rethrows.
    /// </summary>
    public RunEnd Run(RunOptions options, CancellationToken cancel = default)
    {
        long end = options.Steps is long s ? Step + s
            : TotalSteps ?? throw new ArgumentException($"{GetType().Name}: its config has no total; pass the number of steps", nameof(options));
        long stopAt = Math.Min(end, options.Until ?? end);
        long? limit = options.EvalLimit ?? EvalLimit;
        int published = Log.Count;
        long savedAt = -1, sampledAt = -1;
        void Publish()
        {
            if (Log.Count == published) return;
            published = Log.Count;
            options.OnLog?.Invoke(Log);
        }
        void Checkpoint()
        {
            Publish();
            if (options.Checkpoints is null || savedAt == Step) return;
            options.Checkpoints.Save(this);
            savedAt = Step;
        }

        while (Step < stopAt && !cancel.IsCancellationRequested)
        {
            IReadOnlyDictionary<string, double> metrics;
            try { metrics = TrainStepOn(); }
            catch (TrainingDivergedException)
            {
                LogStats();
                Publish();
                throw;
            }
            bool last = Step == end;
            if (last) LogStats();   // the last interval's row comes before the last checkpoint
            bool evaluate = last ? options.FinalEvaluation : EvalEvery > 0 && Step % EvalEvery == 0;
            if (Test is not null && evaluate && !EvaluateKeepingGenerator(Test, limit, cancel))
            {
                // stopped during the evaluation: the step is done and logged, its evaluation is not
                Checkpoint();
                return RunEnd.Cancelled;
            }
            Publish();
            if (options.Checkpoints?.Due(Step) == true || Step == stopAt) Checkpoint();
            options.OnStep?.Invoke(Step, metrics);
            if (options.Samples?.Due(Step) == true) { options.Samples.Sample(this, Step); sampledAt = Step; }
        }
        if (cancel.IsCancellationRequested)
        {
            Checkpoint();
            return RunEnd.Cancelled;
        }
        if (Step < end) return RunEnd.Stopped;
        if (options.Samples is not null && sampledAt != Step) options.Samples.Sample(this, Step);
        return RunEnd.Finished;
    }

    /// <summary>A held-out evaluation that leaves libtorch's generator as it found it; false when <paramref name="cancel"/> stopped it.</summary>
    bool EvaluateKeepingGenerator(ImageDataset test, long? limit, CancellationToken cancel)
    {
        using var rng = random.get_rng_state();
        try
        {
            using (EvaluationProgress.Begin(null, cancel)) Evaluate(test, limit);
            return true;
        }
        catch (OperationCanceledException) { return false; }
        finally { random.set_rng_state(rng); }
    }

    /// <summary>The next batch: <paramref name="images"/> when given, else the trainer's own loader's next.</summary>
    protected Tensor NextBatch(Tensor? images) => NextLabelledBatch(images).Images;

    /// <summary>The next batch with its labels: <paramref name="images"/> when given (no labels), else the trainer's own
    /// loader's next.</summary>
    protected Batch NextLabelledBatch(Tensor? images) => images is not null ? new Batch(images, null, null)
        : (_loader ?? throw new InvalidOperationException($"{GetType().Name} was built without a training set: pass the batch")).Next();

    // ---------------------------------------------------------------- checkpoints

    /// <summary>The modules a checkpoint holds, by name.</summary>
    protected abstract IReadOnlyDictionary<string, nn.Module> Modules { get; }

    /// <summary><see cref="Modules"/> of a model and its optional averaged copy: "model", and "ema" when there is one.</summary>
    protected static IReadOnlyDictionary<string, nn.Module> ModelAndEma(nn.Module model, nn.Module? ema) => ema is null
        ? new Dictionary<string, nn.Module> { ["model"] = model }
        : new Dictionary<string, nn.Module> { ["model"] = model, ["ema"] = ema };

    /// <summary>The optimizers a checkpoint holds, by name.</summary>
    protected abstract IReadOnlyDictionary<string, optim.Optimizer> Optimizers { get; }

    /// <summary>The config record a checkpoint stores and <see cref="Load"/> requires.</summary>
    protected abstract object CheckpointConfig { get; }

    /// <summary>Run state beyond the step (written as checkpoint metadata).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> SaveState() => [];

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    protected virtual void LoadState(Func<string, string> metadata) { }

    /// <summary>The training log kept beside a checkpoint when no other path is given: <c>run.safetensors</c> → <c>run.log.csv</c>.</summary>
    public static string LogPathFor(string checkpoint) => Path.ChangeExtension(checkpoint, null) + ".log.csv";

    /// <summary>
    /// Writes the modules, optimizers, config, step, the own loader's seed and position, the open statistics interval,
    /// the run state and libtorch's CPU generator to one safetensors checkpoint (atomic), after bringing the training
    /// log at <paramref name="logPath"/> up to date on disk (so the log never lags the checkpoint).
    /// </summary>
    /// <param name="path">the checkpoint file.</param>
    /// <param name="extra">more metadata entries (the command line's model name and data, say).</param>
    /// <param name="logPath">the run's log (null: <see cref="LogPathFor"/> the checkpoint).</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? extra = null, string? logPath = null)
    {
        Log.AppendCsv(logPath ?? LogPathFor(path), flushToDisk: true);
        var meta = new Dictionary<string, string>(SaveState()) { ["training_stats"] = Stats.SaveState() };
        if (_loader is not null)
        {
            meta["loader_position"] = _loader.Position.ToString(CultureInfo.InvariantCulture);
            meta["loader_seed"] = _seed.ToString(CultureInfo.InvariantCulture);
        }
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
            if (!meta.TryAdd(k, v)) throw new ArgumentException($"{GetType().Name}.Save: metadata key '{k}' is the trainer's own", nameof(extra));
        Checkpoint.SaveModules(path, Modules, Optimizers, CheckpointConfig, Step, meta, saveRngState: true);
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="Save"/> (with the same config and loader seed; another is refused naming both)
    /// and the log's rows up to its step (the rows after it belong to steps about to be taken again); with
    /// <paramref name="restoreRng"/> libtorch's CPU generator too, so the run continues exactly.
    /// The config fields named in <paramref name="mayDiffer"/> may differ from the checkpoint's (a resumed run that
    /// changes its learning rate): this trainer's values apply from here on.
    /// </summary>
    /// <param name="path">the checkpoint file.</param>
    /// <param name="restoreRng">restore libtorch's CPU generator (false: for sampling or evaluation).</param>
    /// <param name="mayDiffer">config fields that may differ from the checkpoint's.</param>
    /// <param name="logPath">the run's log (null: <see cref="LogPathFor"/> the checkpoint).</param>
    public CheckpointInfo Load(string path, bool restoreRng = true, IReadOnlyCollection<string>? mayDiffer = null, string? logPath = null)
    {
        var info = Checkpoint.LoadModules(path, Modules, Optimizers, CheckpointConfig, restoreRng, mayDiffer);
        string Meta(string key) => info.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path}: not a {GetType().Name} checkpoint ('{key}' is missing)");
        Step = info.Step;
        if (_loader is not null)
        {
            // checkpoints of the command line's former loader record the position only (its seed was the run's)
            if (info.Metadata.ContainsKey("loader_seed") && MetaLong(info, "loader_seed") != _seed)
                throw new CheckpointMismatchException($"{path}: its data order was shuffled with seed {Meta("loader_seed")}, this trainer's with {_seed}");
            _loader.Position = MetaLong(info, "loader_position");
        }
        Stats.LoadState(info.Metadata.GetValueOrDefault("training_stats"));
        LoadState(Meta);
        AfterLoad();
        var log = logPath ?? LogPathFor(path);
        Log = File.Exists(log) ? TrainingLog.LoadCsv(log, upToStep: Step) : new TrainingLog();
        return info;
    }

    /// <summary>Called at the end of <see cref="Load"/>: re-applies settings the optimizers' restored state overrode
    /// (a learning rate that is not set before every step, say).</summary>
    protected virtual void AfterLoad() { }

    /// <summary>A whole-number metadata entry of a checkpoint; a missing or malformed one is an error naming the file and key.</summary>
    public static long MetaLong(CheckpointInfo info, string key)
    {
        if (!info.Metadata.TryGetValue(key, out var text))
            throw new InvalidDataException($"{info.Path}: the checkpoint lacks '{key}' (not written by this trainer, or damaged)");
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new InvalidDataException($"{info.Path}: '{key}' is '{text}', not a whole number (the checkpoint is damaged)");
        return value;
    }

    public abstract void Dispose();
}
