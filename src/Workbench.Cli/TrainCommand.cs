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
/// the run folder (see <see cref="RunFolder"/>), checkpoints atomically every N steps and at the end (and on Ctrl-C
/// or SIGTERM), evaluates on the held-out split and ends with one JSON line.
/// </summary>
public static class TrainCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var model = new Argument<string?>("model") { Description = $"Model family: {string.Join(", ", FamilyRegistry.Names)}.", Arity = ArgumentArity.ZeroOrOne };
        var data = new Option<string?>("--data") { Description = "Dataset name (fashion-mnist, mnist, cifar-10, faces32, faces64) or folder; default: the family's." };
        var preset = new Option<string>("--preset") { Description = "Config preset: small (CPU) or paper.", DefaultValueFactory = _ => "small" };
        var set = new Option<string[]>("--set") { Description = "Override a config field: --set Key=Value (repeatable).", AllowMultipleArgumentsPerToken = false };
        var steps = new Option<long?>("--steps") { Description = "Training steps (default 3000)." };
        var epochs = new Option<double?>("--epochs") { Description = "Training length in epochs instead of --steps." };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 64 };
        var seed = new Option<long>("--seed") { Description = "Random seed (weights, data order, noise).", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Run folder (default runs/<model>-<time>)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its last checkpoint." };
        var every = new Option<long>("--checkpoint-every") { Description = "Steps between checkpoints.", DefaultValueFactory = _ => 500 };
        var sampleEvery = new Option<long>("--sample-every") { Description = "Steps between sample grids (0: only at the end).", DefaultValueFactory = _ => 500 };
        var evalLimit = new Option<long?>("--eval-limit") { Description = "Evaluate on the first N held-out examples instead of the full test split." };

        var cmd = new Command("train", "Train a model; writes config, checkpoints, log.csv, sample grids and TensorBoard events to the run folder.")
        {
            model, data, preset, set, steps, epochs, batch, seed, output, resume, every, sampleEvery, evalLimit,
        };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var resumeDir = p.GetValue(resume);
            RunInfo info;
            string run;
            if (resumeDir is not null)
            {
                run = resumeDir;
                info = RunFolder.ReadInfo(run);
                var before = info;
                if (p.GetValue(steps) is long more) info = info with { Steps = more };
                if (p.GetValue(evalLimit) is long limit) info = info with { EvalLimit = limit };   // else the run's own
                if (info != before) RunFolder.WriteInfo(run, info);
            }
            else
            {
                var name = p.GetValue(model) ?? throw new UsageException("train: name a model (" + string.Join(", ", FamilyRegistry.Names) + ") or give --resume <run>.");
                var family = FamilyRegistry.Get(name);
                var config = ConfigBinder.Apply(family.Preset(p.GetValue(preset)!), p.GetValue(set) ?? Array.Empty<string>());
                var dataName = p.GetValue(data) ?? family.DefaultData;
                run = p.GetValue(output) ?? Path.Combine("runs", $"{family.Name}-{DateTime.Now:yyyyMMdd-HHmmss}");
                if (File.Exists(RunFolder.LastCheckpoint(run)))
                    throw new UsageException($"{run} already holds a run: continue it with --resume {run}, or choose another --out.");
                int batchSize = p.GetValue(batch);
                if (batchSize < 1) throw new UsageException("--batch must be at least 1.");
                using var probe = Datasets.Load(dataName, train: true);
                long total = p.GetValue(epochs) is double ep ? (long)Math.Ceiling(ep * (probe.Count / batchSize)) : p.GetValue(steps) ?? 3000;
                if (total < 1) throw new UsageException("--steps (or --epochs) must give at least one step.");
                config = family.Resolve(config, probe, total, batchSize);
                info = new RunInfo(family.Name, dataName, new[] { probe.Channels, probe.Height, probe.Width }, batchSize, p.GetValue(seed), total, p.GetValue(preset)!, RunInfo.ConfigJson(config), p.GetValue(evalLimit));
                RunFolder.WriteInfo(run, info);
            }
            return Train(run, info, p.GetValue(every), p.GetValue(sampleEvery), info.EvalLimit);
        }));
        return cmd;
    }

    static int Train(string run, RunInfo info, long checkpointEvery, long sampleEvery, long? evalLimit)
    {
        var family = FamilyRegistry.Get(info.Model);
        var config = info.ConfigFor(family);
        using var train = Datasets.Load(info.Data, train: true);
        using var test = Datasets.Load(info.Data, train: false);
        Seeding.Set(info.Seed);
        using var trainer = family.CreateTrainer(config, Devices.Default, info.Shape);
        var loader = new BatchLoader(train, info.Batch, shuffle: true, seed: info.Seed);
        var log = new TrainingLog();
        long start = 0;
        if (File.Exists(RunFolder.LastCheckpoint(run)))
        {
            var ck = trainer.Load(RunFolder.LastCheckpoint(run), restoreRng: true);
            start = ck.Step;
            loader.Position = long.Parse(ck.Metadata["loader_position"], CultureInfo.InvariantCulture);
            if (File.Exists(RunFolder.LogPath(run))) log = TrainingLog.LoadCsv(RunFolder.LogPath(run));
            Console.Error.WriteLine($"resuming {run} at step {start} of {info.Steps}");
        }

        var board = utils.tensorboard.SummaryWriter(RunFolder.TensorBoardDir(run), createRunName: false);
        bool stop = false;
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop = true; };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop = true; });

        long step = start;
        void Save()
        {
            Directory.CreateDirectory(RunFolder.CheckpointDir(run));
            trainer.Save(RunFolder.LastCheckpoint(run), new Dictionary<string, string>
            {
                ["model"] = info.Model,
                ["loader_position"] = loader.Position.ToString(CultureInfo.InvariantCulture),
                ["data"] = info.Data,
            });
            log.SaveCsv(RunFolder.LogPath(run));
        }
        void SampleGrid()
        {
            using var scope = NewDisposeScope();
            Directory.CreateDirectory(RunFolder.SamplesDir(run));
            var images = family.Sample(trainer, 64, null, seed: 1234);
            new Plots.ImageGrid(images, columns: 8).Save(Path.Combine(RunFolder.SamplesDir(run), $"step-{step:D6}.png"));
        }

        try
        {
            StepProgress.Run($"{info.Model} {run}", info.Steps, start, report =>
            {
                while (step < info.Steps && !stop)
                {
                    IReadOnlyDictionary<string, double> metrics;
                    using (var scope = NewDisposeScope())
                        metrics = trainer.TrainStepOn(loader.Next().Images);
                    step = trainer.Step;
                    log.Add(step, metrics.Select(kv => (kv.Key, kv.Value)).ToArray());
                    foreach (var (k, v) in metrics) board.add_scalar($"train/{k}", (float)v, (int)step);
                    report(step, metrics);
                    if (step % checkpointEvery == 0 || step == info.Steps) Save();
                    if (sampleEvery > 0 && step % sampleEvery == 0) SampleGrid();
                }
            });
        }
        finally { Console.CancelKeyPress -= onCancel; }

        if (stop)
        {
            Save();
            Console.Error.WriteLine($"interrupted at step {step}: checkpoint saved; continue with `workbench train --resume {run}`");
            return 130;
        }
        SampleGrid();
        var results = trainer.Evaluate(test, evalLimit);
        foreach (var (k, v) in results) board.add_scalar($"test/{k}", (float)v, (int)step);
        log.Add(step, results.Select(kv => (kv.Key, kv.Value)).ToArray());
        log.SaveCsv(RunFolder.LogPath(run));
        var line = new Dictionary<string, object>
        {
            ["model"] = info.Model, ["steps"] = step, ["seconds"] = Math.Round(log.ElapsedSeconds, 2), ["run"] = run,
            ["data"] = info.Data, ["eval_examples"] = Math.Min(evalLimit ?? test.Count, test.Count),
        };
        foreach (var (k, v) in results) line[k] = v;
        CliOutput.WriteResult(line);
        return 0;
    }
}
