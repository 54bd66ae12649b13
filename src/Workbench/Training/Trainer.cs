using System.Globalization;
using TorchSharp;
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
/// The shape of every trainer (<c>FlowTrainer</c>, <c>NvaeTrainer</c>, <c>StyleGan2Trainer</c>): built from the model(s)
/// it trains and a config record, optionally with a training set (its own shuffled loader, seeded by
/// <c>seed</c>) and a held-out set. <see cref="TrainStepOn"/> takes one step (on a given uint8 batch, or the loader's
/// next) and returns that step's metrics; <see cref="Run"/> repeats it with a progress callback and cancellation,
/// evaluating on the held-out set every <see cref="EvalEvery"/> steps and at the end; <see cref="Evaluate"/> measures
/// held-out metrics in eval mode and leaves the models in the mode they were in; <see cref="Save"/> and
/// <see cref="Load"/> write and restore the whole training state (modules, optimizers, step, data position, run state,
/// libtorch's CPU generator) with the training log beside the checkpoint.
/// </summary>
public abstract class Trainer : IDisposable
{
    readonly BatchLoader? _loader;
    readonly long _seed;

    /// <param name="train">the training set for the trainer's own loader (null: every batch is passed to <see cref="TrainStepOn"/>).</param>
    /// <param name="test">held-out data for <see cref="Run"/>'s evaluations (null: none).</param>
    /// <param name="batchSize">the loader's batch size.</param>
    /// <param name="seed">the loader's shuffling seed.</param>
    /// <param name="device">where the loader puts batches (the models' device).</param>
    protected Trainer(ImageDataset? train, ImageDataset? test, int batchSize, long seed, Device device)
    {
        Test = test;
        _seed = seed;
        _loader = train is null ? null : new BatchLoader(train, batchSize, shuffle: true, seed: seed, device: device);
    }

    /// <summary>The held-out set <see cref="Run"/> evaluates on (null: none).</summary>
    public ImageDataset? Test { get; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; set; }

    public TrainingLog Log { get; private set; } = new();

    /// <summary>The learning rate of the step with this 0-based index.</summary>
    public abstract double LearningRateAt(long step);

    /// <summary>One training step on a uint8 batch [B, C, H, W] (null: the trainer's own next batch), inside dispose
    /// scopes; returns the step's metrics. A non-finite loss throws <see cref="TrainingDivergedException"/> naming the
    /// 0-based index of the step, before any parameter changes.</summary>
    public abstract IReadOnlyDictionary<string, double> TrainStepOn(Tensor? images = null);

    /// <summary>Held-out metrics on the first <paramref name="limit"/> examples (null: all) in eval mode without
    /// gradients, logged at the current step; the models return to the mode they were in, also on exceptions.</summary>
    public abstract IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit = null);

    /// <summary>Where <see cref="Run"/> stops without a step count (null: it needs one).</summary>
    protected virtual long? TotalSteps => null;

    /// <summary><see cref="Run"/> evaluates on <see cref="Test"/> every this many steps (0: only at the end).</summary>
    protected virtual long EvalEvery => 0;

    /// <summary>The held-out examples <see cref="Run"/>'s evaluations use (null: all).</summary>
    protected virtual long? EvalLimit => null;

    /// <summary>True when the config asks for a held-out evaluation after <paramref name="step"/> (every
    /// <see cref="EvalEvery"/> steps), for loops other than <see cref="Run"/> (the command line's).</summary>
    public bool EvaluationDue(long step) => EvalEvery > 0 && step % EvalEvery == 0;

    /// <summary>
    /// Takes <paramref name="steps"/> more steps (null: until the config's total), stopping early when
    /// <paramref name="cancel"/> is signalled; evaluates on <see cref="Test"/> every <see cref="EvalEvery"/> steps and
    /// after the last. <paramref name="onLog"/> sees the log after each step that added a row (e.g. to update a chart).
    /// </summary>
    public TrainingLog Run(long? steps = null, Action<TrainingLog>? onLog = null, CancellationToken cancel = default)
    {
        long end = steps is long s ? Step + s
            : TotalSteps ?? throw new ArgumentException($"{GetType().Name}: its config has no total; pass the number of steps", nameof(steps));
        while (Step < end && !cancel.IsCancellationRequested)
        {
            int rows = Log.Count;
            TrainStepOn();
            if (Test is not null && (Step == end || (EvalEvery > 0 && Step % EvalEvery == 0))) Evaluate(Test, EvalLimit);
            if (Log.Count > rows) onLog?.Invoke(Log);
        }
        return Log;
    }

    double _intervalSum;
    int _intervalCount;

    /// <summary>
    /// Adds a step's <paramref name="value"/> to the mean of the current logging interval; when <see cref="Step"/> is a
    /// multiple of <paramref name="every"/> (0: never), logs that mean as <paramref name="name"/> with the learning rate
    /// and starts the next interval.
    /// </summary>
    protected void LogIntervalMean(string name, double value, double lr, int every)
    {
        _intervalSum += value;
        _intervalCount++;
        if (every <= 0 || Step % every != 0) return;
        Log.Add(Step, (name, _intervalSum / _intervalCount), ("lr", lr));
        _intervalSum = 0;
        _intervalCount = 0;
    }

    /// <summary>The next batch: <paramref name="images"/> when given, else the trainer's own loader's next.</summary>
    protected Tensor NextBatch(Tensor? images) =>
        images ?? (_loader ?? throw new InvalidOperationException($"{GetType().Name} was built without a training set: pass the batch")).Next().Images;

    // ---------------------------------------------------------------- checkpoints

    /// <summary>The modules a checkpoint holds, by name.</summary>
    protected abstract IReadOnlyDictionary<string, nn.Module> Modules { get; }

    /// <summary>The optimizers a checkpoint holds, by name.</summary>
    protected abstract IReadOnlyDictionary<string, optim.Optimizer> Optimizers { get; }

    /// <summary>The config record a checkpoint stores and <see cref="Load"/> requires.</summary>
    protected abstract object CheckpointConfig { get; }

    /// <summary>Run state beyond the step (written as checkpoint metadata).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> SaveState() => [];

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    protected virtual void LoadState(Func<string, string> metadata) { }

    /// <summary>The training log written beside a checkpoint: <c>run.safetensors</c> → <c>run.log.csv</c>.</summary>
    public static string LogPathFor(string checkpoint) => Path.ChangeExtension(checkpoint, null) + ".log.csv";

    /// <summary>
    /// Writes the modules, optimizers, config, step, the own loader's seed and position, the run state and libtorch's CPU
    /// generator to one safetensors checkpoint (atomic), and the training log beside it (<see cref="LogPathFor"/>).
    /// </summary>
    /// <param name="path">the checkpoint file.</param>
    /// <param name="extra">more metadata entries (the command line's own data position, say).</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? extra = null)
    {
        Log.SaveCsv(LogPathFor(path));
        var meta = new Dictionary<string, string>(SaveState());
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
    /// Restores a checkpoint written by <see cref="Save"/> (with the same config and loader seed; another is refused naming both) and
    /// the log beside it; with <paramref name="restoreRng"/> libtorch's CPU generator too, so the run continues exactly.
    /// The config fields named in <paramref name="mayDiffer"/> may differ from the checkpoint's (a resumed run that
    /// changes its learning rate): this trainer's values apply from here on.
    /// </summary>
    public CheckpointInfo Load(string path, bool restoreRng = true, IReadOnlyCollection<string>? mayDiffer = null)
    {
        var info = Checkpoint.LoadModules(path, Modules, Optimizers, CheckpointConfig, restoreRng, mayDiffer);
        string Meta(string key) => info.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path}: not a {GetType().Name} checkpoint ('{key}' is missing)");
        Step = info.Step;
        if (_loader is not null)
        {
            if (MetaLong(info, "loader_seed") != _seed)
                throw new CheckpointMismatchException($"{path}: its data order was shuffled with seed {Meta("loader_seed")}, this trainer's with {_seed}");
            _loader.Position = MetaLong(info, "loader_position");
        }
        LoadState(Meta);
        AfterLoad();
        if (File.Exists(LogPathFor(path))) Log = TrainingLog.LoadCsv(LogPathFor(path));
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
