using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Workbench.Cli.Families;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli;

/// <summary>
/// <c>workbench train &lt;model&gt; …</c> and <c>workbench train --resume runs/&lt;name&gt;</c>: trains with progress, writes
/// the run folder (see <see cref="RunFolder"/>) under an OS lock (<see cref="RunLock"/>), appends each step's row to
/// log.csv before any checkpoint that covers it, checkpoints atomically every N steps and at the end (and on Ctrl-C
/// or SIGTERM), evaluates on the held-out split and ends with one JSON line. A resume may change the settings its
/// family lists as <see cref="IModelFamily.ResumeSafe"/> (and steps, intervals, eval limit); each change is recorded in
/// run.json with the step it applies from.
/// </summary>
public static class TrainCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var model = new Argument<string?>("model") { Description = $"Model family: {string.Join(", ", FamilyRegistry.Names)}.", Arity = ArgumentArity.ZeroOrOne };
        var data = new Option<string?>("--data") { Description = "Dataset name (fashion-mnist, mnist, cifar-10, faces32, faces64) or a folder of images; default: the family's." };
        var imageSize = NumberOption.Int("--image-size", $"Side to which an image folder's images are cropped and resized (default {RunData.DefaultImageSize}).");
        var preset = new Option<string>("--preset") { Description = "Config preset: small (CPU) or paper.", DefaultValueFactory = _ => "small" };
        var set = new Option<string[]>("--set") { Description = "Override a config field: --set Key=Value (repeatable). On --resume only learning-rate, schedule, length and evaluation fields.", AllowMultipleArgumentsPerToken = false };
        var steps = NumberOption.Long("--steps", "Training steps (default 3000; on --resume: the new total).");
        var epochs = NumberOption.Double("--epochs", "Training length in epochs instead of --steps.");
        var batch = NumberOption.Int("--batch", "Batch size (default 64).");
        var seed = NumberOption.Long("--seed", "Random seed (weights, data order, noise; default 0).");
        var output = new Option<string?>("--out") { Description = "Run folder (default runs/<model>-<time>)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its last checkpoint." };
        var every = NumberOption.Long("--checkpoint-every", $"Steps between checkpoints (default {RunInfo.DefaultCheckpointEvery}; 0: only at the end and on interruption).");
        var sampleEvery = NumberOption.Long("--sample-every", $"Steps between sample grids (default {RunInfo.DefaultSampleEvery}; 0: only at the end).");
        var evalLimit = NumberOption.Long("--eval-limit", "Evaluate on N held-out examples instead of the family's default (the whole test split; diffusion's small preset: 200 random images, EvalLimit/EvalSubsetSeed).");
        var until = NumberOption.Long("--until", "Stop at this step (checkpointed, no final evaluation) without changing the run's length or schedules; resume later to go on.");

        var cmd = new Command("train", "Train a model; writes config, checkpoints, log.csv, sample grids and TensorBoard events to the run folder. " +
                                       "A run folder is locked while a process trains in it.")
        {
            model, data, imageSize, preset, set, steps, epochs, batch, seed, output, resume, every, sampleEvery, evalLimit, until,
        };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var a = new Arguments(p.GetValue(model), p.GetValue(data), p.GetValue(imageSize), p.GetValue(preset)!,
                p.GetValue(set) ?? [], p.GetValue(steps), p.GetValue(epochs), p.GetValue(batch), p.GetValue(seed),
                p.GetValue(output), p.GetValue(resume), p.GetValue(every), p.GetValue(sampleEvery), p.GetValue(evalLimit), p.GetValue(until));
            a.Validate();
            var commandLine = Provenance.CommandLine(p);
            return a.Resume is not null ? Resume(a, commandLine) : Start(a, commandLine);
        }));
        return cmd;
    }

    sealed record Arguments(string? Model, string? Data, int? ImageSize, string Preset, string[] Sets, long? Steps, double? Epochs,
        int? Batch, long? Seed, string? Out, string? Resume, long? CheckpointEvery, long? SampleEvery, long? EvalLimit, long? Until)
    {
        /// <summary>Checks what can be checked before any file is touched.</summary>
        public void Validate()
        {
            if (Steps is < 1) throw new UsageException($"--steps {Steps}: must be at least 1.");
            if (Epochs is double e && !(e > 0)) throw new UsageException($"--epochs {e}: must be positive.");
            if (Batch is < 1) throw new UsageException($"--batch {Batch}: must be at least 1.");
            if (CheckpointEvery is < 0) throw new UsageException($"--checkpoint-every {CheckpointEvery}: must be 0 (only at the end) or more.");
            if (SampleEvery is < 0) throw new UsageException($"--sample-every {SampleEvery}: must be 0 (only at the end) or more.");
            if (EvalLimit is < 1) throw new UsageException($"--eval-limit {EvalLimit}: must be at least 1 (leave it out for the family's default).");
            if (ImageSize is < 1) throw new UsageException($"--image-size {ImageSize}: must be at least 1.");
            if (Until is < 1) throw new UsageException($"--until {Until}: must be at least 1.");
            if (Resume is not null)
            {
                var fixedOnResume = new (string Name, bool Given)[]
                {
                    ("a model name", Model is not null), ("--data", Data is not null), ("--image-size", ImageSize is not null),
                    ("--epochs", Epochs is not null), ("--batch", Batch is not null), ("--seed", Seed is not null), ("--out", Out is not null),
                };
                if (fixedOnResume.FirstOrDefault(f => f.Given) is { Given: true } f)
                    throw new UsageException($"train --resume: {f.Name} cannot change on resume (the checkpoint depends on it); " +
                                             "a resume takes --steps, --set for learning-rate and schedule settings, --checkpoint-every, --sample-every and --eval-limit.");
            }
        }
    }

    /// <summary>A new run: builds and records the config, then trains.</summary>
    static int Start(Arguments a, string commandLine)
    {
        var name = a.Model ?? throw new UsageException("train: name a model (" + string.Join(", ", FamilyRegistry.Names) + ") or give --resume <run>.");
        var family = FamilyRegistry.Get(name);
        var run = a.Out ?? Path.Combine("runs", $"{family.Name}-{DateTime.Now:yyyyMMdd-HHmmss}");
        if (a.Out is not null) OutputPath.Check("--out", a.Out);
        if (File.Exists(run)) throw new UsageException($"--out {run}: is a file, not a run folder.");
        var requested = ConfigBinder.Apply(family.Preset(a.Preset), a.Sets);
        var dataName = a.Data ?? family.DefaultData;
        bool folder = RunData.IsFolder(dataName);
        if (folder) dataName = Path.GetFullPath(dataName);
        int? imageSize = folder ? a.ImageSize ?? RunData.DefaultImageSize : a.ImageSize;
        int batchSize = a.Batch ?? 64;
        using var probe = RunData.Load(dataName, imageSize, train: true);
        long total = a.Epochs is double ep ? Math.Max(1, (long)Math.Ceiling(ep * (probe.Count / batchSize))) : a.Steps ?? 3000;
        var config = family.Resolve(requested, probe, total, batchSize);
        RefuseOverriddenSets(a.Sets, requested, config);
        using var runLock = RunLock.Acquire(run);   // the folder is made only for a command that passed every check
        if (File.Exists(RunFolder.LastCheckpoint(run)))
            throw new UsageException($"{run} already holds a run: continue it with --resume {run}, or choose another --out.");
        var info = new RunInfo(family.Name, dataName, new[] { probe.Channels, probe.Height, probe.Width }, batchSize, a.Seed ?? 0, total,
            a.Preset, RunInfo.ConfigJson(config), a.EvalLimit, a.CheckpointEvery ?? RunInfo.DefaultCheckpointEvery,
            a.SampleEvery ?? RunInfo.DefaultSampleEvery, imageSize, Commands: [commandLine], Commit: Provenance.Commit(),
            Threads: get_num_threads(), Machine: Provenance.Machine());
        RunFolder.RemoveOrphanTemporaries(run);
        if (File.Exists(RunFolder.LogPath(run))) File.Delete(RunFolder.LogPath(run));   // from a start killed before its first checkpoint
        RunFolder.WriteInfo(run, info);
        return Train(run, info, family, config, checkpoint: null, a.Until);
    }

    /// <summary>A --set that the data or another option overrides (BatchSize, Steps, the image shape) is refused, naming what wins.</summary>
    static void RefuseOverriddenSets(string[] sets, RunConfig requested, RunConfig resolved)
    {
        var diffs = Checkpoint.DiffJson(RunInfo.ConfigJson(requested).ToJsonString(), RunInfo.ConfigJson(resolved).ToJsonString()) ?? [];
        foreach (var assignment in sets)
        {
            var key = assignment.Split('=', 2)[0].Trim();
            var hit = diffs.FirstOrDefault(d => d.Field.EndsWith("." + key, StringComparison.OrdinalIgnoreCase));
            if (hit.Field is null) continue;
            var by = key.ToLowerInvariant() switch
            {
                "batchsize" => "--batch",
                "steps" => "--steps (or --epochs)",
                _ => "the data's image shape",
            };
            throw new UsageException($"--set {assignment}: {key} is set by {by} (here {hit.Expected}); use that instead.");
        }
    }

    /// <summary>A resumed run: validates run.json and the checkpoint against each other before building anything,
    /// applies and records the allowed changes, then trains on.</summary>
    static int Resume(Arguments a, string commandLine)
    {
        var run = a.Resume!;
        if (!Directory.Exists(run) && !File.Exists(run)) throw new UsageException($"--resume {run}: no such run folder.");
        var info = RunFolder.ReadInfo(run);
        using var runLock = RunLock.Acquire(run);
        info = RunFolder.ReadInfo(run);   // as it is now that no other process can change it
        var family = FamilyRegistry.Get(info.Model);
        var config = info.ConfigFor(family);
        var ck = RunFolder.LastCheckpoint(run);
        CheckpointInfo? header = null;
        if (File.Exists(ck))
        {
            SafeTensors.Verify(ck);   // a damaged checkpoint is refused before run.json is touched
            header = Checkpoint.ReadInfo(ck);
            if (header.Metadata.TryGetValue("model", out var m) && !m.Equals(info.Model, StringComparison.OrdinalIgnoreCase))
                throw new CheckpointMismatchException($"{ck} is a '{m}' checkpoint but {RunFolder.InfoPath(run)} says '{info.Model}'.");
            Checkpoint.VerifyConfig(ck, family.CheckpointConfig(config), family.ResumeSafe);
        }
        long at = header?.Step ?? 0;

        // The changes this resume asks for.
        var changed = ConfigBinder.ApplySafe(config, a.Sets, family.ResumeSafe, "train --resume", "on resume");
        var oldJson = RunInfo.ConfigJson(config).ToJsonString();
        long total = a.Steps ?? info.Steps;
        if (total < at) throw new UsageException($"--steps {total}: the checkpoint is already at step {at}.");
        using var probe = RunData.Load(info.Data, info.ImageSize, train: true);
        changed = family.Resolve(changed, probe, total, info.Batch);

        var changes = new List<RunChange>(info.Changes ?? []);
        foreach (var d in Checkpoint.DiffJson(oldJson, RunInfo.ConfigJson(changed).ToJsonString()) ?? [])
            if (!d.Field.EndsWith(".Steps", StringComparison.Ordinal))   // recorded once, as "steps", below
                changes.Add(new RunChange(at, d.Field, d.Stored, d.Expected));
        void Note(string field, object? from, object? to)
        {
            if (!Equals(from, to)) changes.Add(new RunChange(at, field, Convert.ToString(from, CultureInfo.InvariantCulture) ?? "null",
                Convert.ToString(to, CultureInfo.InvariantCulture) ?? "null"));
        }
        var updated = info with
        {
            Steps = total,
            Config = RunInfo.ConfigJson(changed),
            CheckpointEvery = a.CheckpointEvery ?? info.CheckpointEvery ?? RunInfo.DefaultCheckpointEvery,
            SampleEvery = a.SampleEvery ?? info.SampleEvery ?? RunInfo.DefaultSampleEvery,
            EvalLimit = a.EvalLimit ?? info.EvalLimit,
            Commands = [.. info.Commands ?? [], commandLine],
        };
        Note("steps", info.Steps, updated.Steps);
        Note("checkpoint_every", info.CheckpointEvery ?? RunInfo.DefaultCheckpointEvery, updated.CheckpointEvery);
        Note("sample_every", info.SampleEvery ?? RunInfo.DefaultSampleEvery, updated.SampleEvery);
        Note("eval_limit", info.EvalLimit, updated.EvalLimit);
        updated = updated with { Changes = changes.Count > 0 ? changes.ToArray() : null };
        foreach (var c in changes.Skip(info.Changes?.Length ?? 0))
            Console.Error.WriteLine($"from step {c.Step}: {c.Field} {c.From} -> {c.To}");
        if (a.Until is long u && u <= at) throw new UsageException($"--until {u}: the checkpoint is already at step {at}.");
        RunFolder.RemoveOrphanTemporaries(run);
        RunFolder.WriteInfo(run, updated);
        return Train(run, updated, family, changed, header, a.Until);
    }

    /// <summary>The trainer's held-out evaluation with progress (examples, rate, ETA) on stderr; null when
    /// <paramref name="cancel"/> stopped it.</summary>
    internal static IReadOnlyDictionary<string, double>? Evaluate(Trainer trainer, ImageDataset test, long? limit, string what, CancellationToken cancel)
    {
        IReadOnlyDictionary<string, double>? results = null;
        try
        {
            StepProgress.Run($"{what} (images)", Math.Min(limit ?? test.Count, test.Count), 0, report =>
            {
                using (EvaluationProgress.Begin((done, _) => report(done), cancel)) results = trainer.Evaluate(test, limit);
            });
        }
        catch (OperationCanceledException) { return null; }
        return results;
    }

    /// <param name="until">stop at this step (checkpointed, without the final evaluation); null: at the run's last step.</param>
    static int Train(string run, RunInfo info, IModelFamily family, RunConfig config, CheckpointInfo? checkpoint, long? until)
    {
        using var train = RunData.Load(info.Data, info.ImageSize, train: true);
        using var test = RunData.Load(info.Data, info.ImageSize, train: false);
        Seeding.Set(info.Seed);
        using var trainer = family.CreateTrainer(config, Devices.Default, info.Shape, train, test, info.Seed);
        var logPath = RunFolder.LogPath(run);
        if (checkpoint is not null)
        {
            trainer.Load(RunFolder.LastCheckpoint(run), restoreRng: true, mayDiffer: family.ResumeSafe, logPath: logPath);
            Console.Error.WriteLine($"resuming {run} at step {trainer.Step} of {info.Steps}");
        }
        trainer.Log.SaveCsv(logPath);   // a log that cannot be written stops the run before its first step

        var board = utils.tensorboard.SummaryWriter(RunFolder.TensorBoardDir(run), createRunName: false);
        int boarded = trainer.Log.Count;
        void WriteLog(TrainingLog log)
        {
            log.AppendCsv(logPath);
            foreach (var (step, metrics) in log.RowsFrom(boarded))
                foreach (var (k, v) in metrics)
                    board.add_scalar(k.StartsWith("test_", StringComparison.Ordinal) ? $"test/{k}" : $"train/{k}", (float)v, (int)step);
            boarded = log.Count;
        }

        using var stopping = new CancellationTokenSource();   // stops a step loop or an evaluation in progress, within one batch
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stopping.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        var options = new RunOptions
        {
            Steps = info.Steps - trainer.Step,
            Until = until,
            OnLog = WriteLog,
            Checkpoints = new RunFolderCheckpoints(run, info, logPath),
            Samples = new RunFolderSamples(run, family, info.SampleEvery ?? RunInfo.DefaultSampleEvery),
            EvalLimit = info.EvalLimit,
            FinalEvaluation = false,   // below, with its own progress
        };
        RunEnd end;
        try
        {
            end = RunEnd.Finished;
            StepProgress.Run($"{info.Model} {run}", info.Steps, trainer.Step, report =>
                end = trainer.Run(options with { OnStep = (step, metrics) => report(step, metrics) }, stopping.Token));
        }
        catch (TrainingDivergedException e)
        {
            var ck = RunFolder.LastCheckpoint(run);
            var last = File.Exists(ck) ? Checkpoint.ReadInfo(ck).Step : 0;
            throw new RunFailedException(
                $"{e.Message} {logPath} holds every step before it. Continue from the last checkpoint (step {last}) with " +
                $"`workbench train --resume {run} --set LearningRate=<lower>`.", e);
        }
        finally { Console.CancelKeyPress -= onCancel; }

        long at = trainer.Step;
        if (end == RunEnd.Cancelled)
        {
            Console.Error.WriteLine($"interrupted at step {at}: checkpoint saved; continue with `workbench train --resume {run}`");
            return 130;
        }
        if (end == RunEnd.Stopped)
        {
            Console.Error.WriteLine($"stopped at step {at} of {info.Steps} (--until): checkpoint saved; continue with `workbench train --resume {run}`");
            CliOutput.WriteResult(new Dictionary<string, object?> { ["model"] = info.Model, ["steps"] = at, ["of_steps"] = info.Steps,
                ["seconds"] = Math.Round(trainer.Log.ElapsedSeconds, 2), ["run"] = run, ["data"] = info.Data });
            return 0;
        }
        var results = Evaluate(trainer, test, info.EvalLimit, "held-out evaluation", stopping.Token);
        if (results is null)
        {
            Console.Error.WriteLine($"interrupted during the final evaluation at step {at}: the checkpoint is saved; " +
                                    $"`workbench eval {run}` measures it");
            return 130;
        }
        WriteLog(trainer.Log);
        trainer.Log.AppendCsv(logPath, flushToDisk: true);
        var line = new Dictionary<string, object?>
        {
            ["model"] = info.Model, ["steps"] = at, ["seconds"] = Math.Round(trainer.Log.ElapsedSeconds, 2), ["run"] = run,
            ["data"] = info.Data, ["eval_examples"] = Math.Min(info.EvalLimit ?? test.Count, test.Count),
        };
        foreach (var (k, v) in results) line[k] = v;
        CliOutput.WriteResult(line);
        return 0;
    }

    /// <summary>A run folder's checkpoints: checkpoints/last.safetensors every N steps, with the model's name and data in
    /// its metadata and log.csv as its log.</summary>
    sealed class RunFolderCheckpoints(string run, RunInfo info, string logPath) : ICheckpointPolicy
    {
        readonly long _every = info.CheckpointEvery ?? RunInfo.DefaultCheckpointEvery;

        public bool Due(long step) => _every > 0 && step % _every == 0;

        public void Save(Trainer trainer)
        {
            Directory.CreateDirectory(RunFolder.CheckpointDir(run));
            trainer.Save(RunFolder.LastCheckpoint(run), new Dictionary<string, string> { ["model"] = info.Model, ["data"] = info.Data }, logPath);
        }
    }

    /// <summary>A grid of 64 fixed-seed samples in samples/step-NNNNNN.png every N steps and at the end.</summary>
    sealed class RunFolderSamples(string run, IModelFamily family, long every) : ISamplePolicy
    {
        public bool Due(long step) => every > 0 && step % every == 0;

        public void Sample(Trainer trainer, long step)
        {
            using var scope = NewDisposeScope();
            Directory.CreateDirectory(RunFolder.SamplesDir(run));
            var images = family.Sample(trainer, 64, null, seed: 1234);
            new Plots.ImageGrid(images, columns: 8).Save(Path.Combine(RunFolder.SamplesDir(run), $"step-{step:D6}.png"));
        }
    }
}
