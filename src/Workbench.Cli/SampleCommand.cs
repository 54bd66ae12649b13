using System.CommandLine;
using Workbench.Cli.Families;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli;

/// <summary><c>workbench sample &lt;run|checkpoint&gt; --n 64 [--temperature T | --psi P] [--seed S] [--set Key=Value] --out grid.png</c>.</summary>
public static class SampleCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var target = new Argument<string>("run") { Description = "A run folder (its last checkpoint), a checkpoint file or a zoo model's folder (models/NAME)." };
        var n = new Option<int>("--n") { Description = "Number of samples.", DefaultValueFactory = _ => 64 };
        var temperature = new Option<double?>("--temperature") { Description = "Prior temperature (flows, VAEs)." };
        var psi = new Option<double?>("--psi") { Description = "Truncation psi (StyleGAN2)." };
        var seed = new Option<long>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "PNG file for the grid.", DefaultValueFactory = _ => "samples.png" };
        var set = SetOption();
        var cmd = new Command("sample", "Draw samples from a trained model into a PNG grid.") { target, n, temperature, psi, seed, output, set };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            if (p.GetValue(temperature) is not null && p.GetValue(psi) is not null)
                throw new UsageException("sample: give --temperature or --psi, not both.");
            if (p.GetValue(n) < 1) throw new UsageException("sample: --n must be at least 1.");
            foreach (var (name, value) in new[] { ("--temperature", p.GetValue(temperature)), ("--psi", p.GetValue(psi)) })
                if (value is double v && !(double.IsFinite(v) && v >= 0))
                    throw new UsageException($"sample: {name} {v}: must be a finite number ≥ 0.");
            var path = p.GetValue(output)!;
            OutputPath.Check("--out", path);
            using var loaded = LoadedRun.Open(p.GetValue(target)!, p.GetValue(set) ?? [], "sample");
            int count = p.GetValue(n), columns = (int)Math.Ceiling(Math.Sqrt(count));
            int scale = GridScale(count, columns, loaded.Info.Shape);
            using var scope = NewDisposeScope();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            return Interruption.Run("sample", cancel =>
            {
                var images = InChunks(loaded.Family, loaded.Trainer, count, p.GetValue(temperature) ?? p.GetValue(psi), p.GetValue(seed), "sampling (images)", cancel);
                double perImage = clock.Elapsed.TotalSeconds / count;
                new Plots.ImageGrid(images, columns: columns, scale: scale).Save(path);
                CliOutput.WriteResult(new { model = loaded.Info.Model, run = loaded.Run, n = p.GetValue(n), output = path, step = loaded.Step,
                                            seconds_per_image = Math.Round(perImage, 4), peak_rss_mib = PeakResidentMiB() });
                return 0;
            });
        }));
        return cmd;
    }

    /// <summary>The process's peak resident memory so far in MiB (VmHWM of /proc/self/status), or null off Linux.</summary>
    internal static double? PeakResidentMiB()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
        var kib = line?["VmHWM:".Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return long.TryParse(kib, out var k) ? Math.Round(k / 1024.0, 1) : null;
    }

    /// <summary>Images per call of the family's sampler: memory stays that of one chunk, whatever --n is.</summary>
    internal const int Chunk = 64;

    /// <summary>The largest side of a grid PNG, in pixels.</summary>
    internal const int MaxGridSide = 16384;

    /// <summary>
    /// <paramref name="n"/> samples as uint8 [N, C, H, W] on the CPU, drawn <see cref="Chunk"/> at a time (chunk i with
    /// seed <paramref name="seed"/> + i, so up to 64 samples are those of one call), with progress on stderr.
    /// </summary>
    internal static Tensor InChunks(IModelFamily family, Trainer trainer, int n, double? temperatureOrPsi, long seed, string what,
        CancellationToken cancel = default)
    {
        var parts = new List<Tensor>();
        StepProgress.Run(what, n, 0, report =>
        {
            for (int s = 0, i = 0; s < n; s += Chunk, i++)
            {
                cancel.ThrowIfCancellationRequested();
                parts.Add(family.Sample(trainer, Math.Min(Chunk, n - s), temperatureOrPsi, seed + i));
                report(Math.Min(n, s + Chunk));
            }
        });
        return parts.Count == 1 ? parts[0] : cat(parts, 0);
    }

    /// <summary>The grid's upscaling: ImageGrid's default (tiles of at least 64 pixels) while the grid stays within
    /// 8,192 pixels a side, else none; refuses an --n whose grid exceeds <see cref="MaxGridSide"/> even at scale 1.</summary>
    internal static int GridScale(int n, int columns, long[] shape)
    {
        long side = Math.Max(shape[^1], shape[^2]);
        long Side(long scale) => columns * (side * scale + 2) + 2;
        long defaultScale = Math.Max(1, (long)Math.Ceiling(64.0 / shape[^2]));
        if (Side(defaultScale) <= 8192) return 0;
        if (Side(1) <= MaxGridSide) return 1;
        long maxColumns = (MaxGridSide - 2) / (side + 2);
        throw new UsageException($"sample: --n {n}: the grid would be {Side(1):N0} pixels a side (at most {MaxGridSide:N0}); use --n {maxColumns * maxColumns:N0} or fewer per grid.");
    }

    /// <summary>--set for sample and eval: only the settings a resume may change (the sampler's, the evaluation's).</summary>
    internal static Option<string[]> SetOption() => new("--set")
    {
        Description = "Override a sampling or evaluation setting of the run: --set Key=Value (repeatable; e.g. diffusion's SampleSteps, SampleEta, SampleAncestral). Settings that change the model are refused.",
        AllowMultipleArgumentsPerToken = false,
    };
}

/// <summary><c>workbench eval &lt;run|checkpoint&gt; [--data …] [--eval-limit N]</c>: the model's held-out metric.</summary>
public static class EvalCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var target = new Argument<string>("run") { Description = "A run folder (its last checkpoint), a checkpoint file or a zoo model's folder (models/NAME)." };
        var data = new Option<string?>("--data") { Description = "Dataset to evaluate on (default: the run's), test split." };
        var limit = NumberOption.Long("--eval-limit", "Use N test examples instead of the family's default (the first N; diffusion draws them at random when its EvalSubsetSeed is set).");
        var quality = new Option<int>("--quality") { Description = "Sample-quality metrics on N samples vs N test images (FD/KID/precision/recall/density/coverage on ResNet-18 features, more per dataset; see SampleQuality); 0 skips.", DefaultValueFactory = _ => 64 };
        var featureSteps = new Option<int>("--feature-steps") { Description = "Training steps for a dataset feature network not yet cached.", DefaultValueFactory = _ => 500 };
        var featureCache = new Option<string?>("--feature-cache") { Description = "Folder caching the trained feature networks (default data/cache)." };
        var set = SampleCommand.SetOption();
        var skipHeldOut = new Option<bool>("--skip-heldout") { Description = "Skip the held-out likelihood metrics (sample quality only; e.g. when train's closing line already has them on the full split)." };
        var seed = new Option<long>("--seed") { Description = "Seed of libtorch's generator for the evaluation's noise (dequantization, importance samples, diffusion's t) and the quality samples.", DefaultValueFactory = _ => 0 };
        var ppl = new Option<int>("--ppl") { Description = "StyleGAN2: perceptual path length over N paths in W (end points) and in Z (full paths), with ResNet-18 features as the distance (see PerceptualPathLength; faces cropped to the face); 0 skips (default).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("eval", "Evaluate a trained model on held-out data (bits/dim for flows; ELBO and IW bits/dim for VAEs) and its samples' quality.") { target, data, limit, quality, featureSteps, featureCache, set, seed, skipHeldOut, ppl };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            if (p.GetValue(limit) is < 1) throw new UsageException($"--eval-limit {p.GetValue(limit)}: must be at least 1 (leave it out for the family's default).");
            if (p.GetValue(ppl) is < 0 or 1) throw new UsageException($"--ppl {p.GetValue(ppl)}: must be 0 (skip) or at least 2 paths.");
            using var loaded = LoadedRun.Open(p.GetValue(target)!, p.GetValue(set) ?? [], "eval");
            if (p.GetValue(ppl) > 0 && loaded.Trainer is not StyleGan2.StyleGan2Trainer)
                throw new UsageException($"--ppl: the perceptual path length is StyleGAN2's; {loaded.Run} is a {loaded.Info.Model} model.");
            using var test = p.GetValue(data) is string other ? RunData.Load(other, RunData.IsFolder(other) ? loaded.Info.ImageSize : null, train: false)
                : RunData.Load(loaded.Info.Data, loaded.Info.ImageSize, train: false);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Seeding.Set(p.GetValue(seed));
            return Interruption.Run("eval", cancel =>
            {
                var results = p.GetValue(skipHeldOut) ? new Dictionary<string, double>()
                    : TrainCommand.Evaluate(loaded.Trainer, test, p.GetValue(limit), "held-out evaluation", cancel)
                      ?? throw new OperationCanceledException(cancel);
                var line = new Dictionary<string, object?>
                {
                    ["model"] = loaded.Info.Model, ["steps"] = loaded.Step, ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
                    ["run"] = loaded.Run, ["data"] = test.Name,
                };
                if (!p.GetValue(skipHeldOut)) line["eval_examples"] = Math.Min(p.GetValue(limit) ?? test.Count, test.Count);
                foreach (var (k, v) in results) line[k] = v;
                if (p.GetValue(quality) > 0)
                    foreach (var (k, v) in SampleQuality.Measure(loaded.Family, loaded.Trainer, test, p.GetValue(data) ?? loaded.Info.Data,
                        new(p.GetValue(quality), p.GetValue(seed), p.GetValue(featureCache) ?? SampleQuality.DefaultCacheFolder, p.GetValue(featureSteps)),
                        trainSplit: () => p.GetValue(data) is string other ? RunData.Load(other, RunData.IsFolder(other) ? loaded.Info.ImageSize : null, train: true)
                            : RunData.Load(loaded.Info.Data, loaded.Info.ImageSize, train: true), cancel: cancel)) line[k] = v;
                if (p.GetValue(ppl) > 0)
                    foreach (var (k, v) in PathLengths(((StyleGan2.StyleGan2Trainer)loaded.Trainer).GEma, p.GetValue(ppl),
                                 crop: (p.GetValue(data) ?? loaded.Info.Data).StartsWith("faces", StringComparison.Ordinal), p.GetValue(seed), cancel))
                        line[k] = v;
                CliOutput.WriteResult(line);
                return 0;
            });
        }));
        return cmd;
    }

    /// <summary>PPL in W at the paths' ends and in Z over full paths (StyleGAN2's two reported variants), with progress.</summary>
    static Dictionary<string, object?> PathLengths(StyleGan2.StyleGan2Generator g, int paths, bool crop, long seed, CancellationToken cancel)
    {
        var line = new Dictionary<string, object?> { ["ppl_paths"] = paths, ["ppl_crop"] = crop, ["ppl_epsilon"] = StyleGan2.PerceptualPathLength.DefaultEpsilon };
        using var resnet = new Metrics.ResNet18Features(threads: get_num_threads());
        foreach (var (space, sampling, key) in new[] { (StyleGan2.PathSpace.W, StyleGan2.PathSampling.End, "ppl_w_end"), (StyleGan2.PathSpace.Z, StyleGan2.PathSampling.Full, "ppl_z_full") })
        {
            StyleGan2.PerceptualPathLength.Result? r = null;
            StepProgress.Run($"perceptual path length, {key} (paths)", paths, 0, report =>
            {
                using (EvaluationProgress.Begin((done, _) => report(done), cancel))
                    r = StyleGan2.PerceptualPathLength.Measure(g, resnet, paths, space, sampling, crop, seed: seed);
            });
            line[key] = r!.Mean;
            line[key + "_std"] = r.Std;
        }
        return line;
    }
}

/// <summary>A run's family, config and trainer, restored from a checkpoint (for sample and eval).</summary>
sealed class LoadedRun : IDisposable
{
    public required string Run { get; init; }
    public required RunInfo Info { get; init; }
    public required IModelFamily Family { get; init; }
    public required Trainer Trainer { get; init; }
    public required long Step { get; init; }

    /// <param name="sets">--set assignments applied to the run's config; only fields in the family's
    /// <see cref="IModelFamily.ResumeSafe"/> may change (refused by name otherwise).</param>
    /// <param name="command">the command, for error messages.</param>
    public static LoadedRun Open(string runOrCheckpoint, IReadOnlyList<string>? sets = null, string command = "sample")
    {
        if (Workbench.Zoo.ZooModel.IsZooFolder(runOrCheckpoint)) return OpenZoo(runOrCheckpoint, sets, command);
        var (run, ck) = RunFolder.Resolve(runOrCheckpoint);
        var info = RunFolder.ReadInfo(run);
        var family = FamilyRegistry.Get(info.Model);
        var config = info.ConfigFor(family);
        if (sets is { Count: > 0 }) config = ConfigBinder.ApplySafe(config, sets, family.ResumeSafe, command);
        // Checked from the header before a model is built.
        var header = Checkpoint.ReadInfo(ck);
        if (header.Metadata.TryGetValue("model", out var m) && !m.Equals(info.Model, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointMismatchException($"{ck} is a '{m}' checkpoint but {RunFolder.InfoPath(run)} says '{info.Model}'.");
        Checkpoint.VerifyConfig(ck, family.CheckpointConfig(config), family.ResumeSafe);
        var trainer = family.CreateTrainer(config, Devices.Default, info.Shape);
        CheckpointInfo meta;
        try { meta = trainer.Load(ck, restoreRng: false, mayDiffer: family.ResumeSafe); }
        catch { trainer.Dispose(); throw; }
        return new LoadedRun
        {
            Run = run, Info = info, Family = family, Trainer = trainer,
            Step = meta.Step,
        };
    }

    /// <summary>
    /// A zoo model's folder (<see cref="Workbench.Zoo.ZooModel"/>): its files checked against zoo.json (unless
    /// <paramref name="verify"/> is false), the family's trainer built from the card's run config, and the inference
    /// weights loaded into the network that samples and evaluates.
    /// </summary>
    public static LoadedRun OpenZoo(string folder, IReadOnlyList<string>? sets = null, string command = "sample", bool verify = true)
    {
        var zoo = Workbench.Zoo.ZooModel.Open(folder, verify: verify);
        var source = Path.Combine(zoo.Folder, Workbench.Zoo.ZooModel.CardFile);
        RunInfo info;
        try { info = System.Text.Json.JsonSerializer.Deserialize<RunInfo>(zoo.Card.Run, RunInfo.JsonOptions) ?? throw new InvalidDataException($"{source}: run is empty"); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{source}: run is not a run.json ({e.Message.Split('\n')[0]})"); }
        var family = FamilyRegistry.Get(info.Model);
        if (family.Name != zoo.Card.Family) throw new InvalidDataException($"{source}: family '{zoo.Card.Family}' but its run is a '{info.Model}' run");
        var config = info.ConfigFor(family, source);
        if (sets is { Count: > 0 }) config = ConfigBinder.ApplySafe(config, sets, family.ResumeSafe, command);
        var trainer = family.CreateTrainer(config, Devices.Default, info.Shape);
        try { zoo.LoadWeights(family.InferenceModule(trainer)); }
        catch { trainer.Dispose(); throw; }
        trainer.Step = zoo.Card.Steps;
        return new LoadedRun { Run = zoo.Folder, Info = info, Family = family, Trainer = trainer, Step = zoo.Card.Steps };
    }

    public void Dispose() => Trainer.Dispose();
}
