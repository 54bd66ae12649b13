using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Workbench.Cli.Families;
using Workbench.Training;
using Workbench.Zoo;
using static TorchSharp.torch;

namespace Workbench.Cli;

/// <summary>
/// Makes a zoo model from a finished run (<c>workbench zoo add</c>): the inference weights, the whole training log, a
/// 64-sample grid, the card (card.json, and README.md for people) with the check metric re-measured on the first test
/// images, and the model's line in zoo.json. The folder is written beside the zoo and moved into place at the end, so a
/// failure leaves the zoo as it was.
/// </summary>
public static partial class ZooPackager
{
    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)+$")]
    private static partial Regex NamePattern();

    public static ZooCard Package(string run, string zooFolder, string name, IReadOnlyList<string> metricsFiles, IReadOnlyList<string> evalCommands,
        IReadOnlyList<string> limitations, IReadOnlyList<string> commands, string? commit, int? threads, int checkExamples)
    {
        if (!NamePattern().IsMatch(name)) throw new UsageException($"--name '{name}': use <family>-<dataset>-<preset>, lower-case words joined by '-'.");
        if (evalCommands.Count != metricsFiles.Count)
            throw new UsageException($"zoo add: {metricsFiles.Count} --metrics files but {evalCommands.Count} --eval-command lines; give one command per file.");
        if (checkExamples < 1) throw new UsageException($"--check-examples {checkExamples}: must be at least 1.");
        var info = RunFolder.ReadInfo(run);
        var family = FamilyRegistry.Get(info.Model);
        if (!name.StartsWith(family.Name + "-", StringComparison.Ordinal))
            throw new UsageException($"--name '{name}': a {family.Name} model's name starts with '{family.Name}-'.");
        var ck = RunFolder.LastCheckpoint(run);
        if (!File.Exists(ck)) throw new UsageException($"{run} has no checkpoint ({ck} is missing).");
        SafeTensors.Verify(ck);
        var header = Checkpoint.ReadInfo(ck);
        if (header.Step != info.Steps)
            throw new UsageException($"{run} is at step {header.Step} of {info.Steps}: finish it (`workbench train --resume {run}`) before adding it to the zoo.");
        var cardCommands = commands.Count > 0 ? commands.ToArray() : info.Commands
            ?? throw new UsageException($"{RunFolder.InfoPath(run)} does not record its train commands; give them with --command.");
        var cardCommit = commit ?? info.Commit ?? throw new UsageException($"{RunFolder.InfoPath(run)} does not record its commit; give it with --commit.");
        var cardThreads = threads ?? info.Threads ?? throw new UsageException($"{RunFolder.InfoPath(run)} does not record its threads; give them with --trained-threads.");
        var metrics = new JsonObject();
        foreach (var file in metricsFiles)
            foreach (var (k, v) in ReadEvalLine(file))
                if (k is not ("steps" or "seconds") && v is JsonValue value && (value.TryGetValue<double>(out _) || k == "floor_source")) metrics[k] = v.DeepClone();

        var config = info.ConfigFor(family);
        Checkpoint.VerifyConfig(ck, family.CheckpointConfig(config), family.ResumeSafe);
        Seeding.Set(info.Seed);
        using var trainer = family.CreateTrainer(config, Devices.Default, info.Shape);
        trainer.Load(ck, restoreRng: false, mayDiffer: family.ResumeSafe);
        var module = family.InferenceModule(trainer);

        Directory.CreateDirectory(zooFolder);
        var final = Path.Combine(zooFolder, name);
        var staging = Path.Combine(zooFolder, $".{name}.tmp-{Environment.ProcessId}");
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        try
        {
            ZooModel.SaveWeights(Path.Combine(staging, ZooModel.WeightsFile), module, config.Model, header.Step);
            File.Copy(RunFolder.LogPath(run), Path.Combine(staging, ZooModel.LogFile));
            using (var scope = NewDisposeScope())
                new Plots.ImageGrid(family.Sample(trainer, 64, null, seed: 1234), columns: 8).Save(Path.Combine(staging, ZooModel.SamplesFile));
            var check = Check(trainer, info, checkExamples);
            long parameters = module.parameters().Sum(t => t.numel());
            var card = new ZooCard(name, family.Name, info.Data, info.Shape, parameters, config.Model.GetType().FullName!,
                JsonSerializer.SerializeToNode(info with { Commands = cardCommands, Commit = cardCommit, Threads = cardThreads }, RunInfo.JsonOptions)!.AsObject(),
                cardCommands, cardCommit, header.Metadata.GetValueOrDefault(Checkpoint.CreatedKey, ""), header.Step, info.Batch, info.Seed,
                Math.Round(LastSeconds(RunFolder.LogPath(run)), 1), info.Machine ?? Provenance.Machine(), cardThreads, metrics, evalCommands.ToArray(),
                Protocol(info, metrics), check, limitations.ToArray());
            File.WriteAllText(Path.Combine(staging, ZooModel.CardFile), card.ToJson() + "\n");
            File.WriteAllText(Path.Combine(staging, ZooModel.ReadmeFile), Readme(card));
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(staging, final);
            ZooManifest.Read(zooFolder).With(new ZooEntry(name, family.Name, ZooManifest.HashFiles(final))).Write(zooFolder);
            return card;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>The last JSON object line of a file (eval's closing line; progress lines around it are skipped).</summary>
    static JsonObject ReadEvalLine(string file)
    {
        if (!File.Exists(file)) throw new UsageException($"--metrics {file}: no such file.");
        var line = File.ReadLines(file).LastOrDefault(l => l.TrimStart().StartsWith('{'))
            ?? throw new InvalidDataException($"--metrics {file}: no JSON line (expected `workbench eval`'s closing line).");
        try { return JsonNode.Parse(line)!.AsObject(); }
        catch (JsonException e) { throw new InvalidDataException($"--metrics {file}: not JSON ({e.Message.Split('\n')[0]})"); }
    }

    /// <summary>The family's held-out metric on the first <paramref name="examples"/> test images, libtorch seeded with the
    /// run's seed; "examples" is 0 for a family without a held-out metric (a GAN).</summary>
    internal static JsonObject Check(Trainer trainer, RunInfo info, int examples)
    {
        using var test = RunData.Load(info.Data, info.ImageSize, train: false);
        Seeding.Set(info.Seed);
        var metrics = trainer.Evaluate(test, examples);
        var check = new JsonObject { ["examples"] = metrics.Count == 0 ? 0 : Math.Min(examples, test.Count), ["seed"] = info.Seed };
        foreach (var (k, v) in metrics) check[k] = double.IsFinite(v) ? v : null;
        return check;
    }

    static double LastSeconds(string log)
    {
        var last = File.ReadLines(log).Skip(1).LastOrDefault(l => l.Length > 0);
        return last is null ? 0 : double.Parse(last.Split(',')[1], CultureInfo.InvariantCulture);
    }

    static string Protocol(RunInfo info, JsonObject metrics)
    {
        var parts = new List<string>();
        if (metrics["eval_examples"] is JsonValue e && metrics.Any(kv => kv.Key.StartsWith("test_", StringComparison.Ordinal)))
            parts.Add($"held-out metrics on {e.GetValue<double>():N0} images of {info.Data}'s test split");
        if (metrics["quality_samples"] is JsonValue n)
            parts.Add($"sample quality: {n} samples (seeds from 0) against the first {n} test images" +
                      (metrics["floor_samples"] is not JsonValue f ? ""
                       : (string?)metrics["floor_source"] == "train"
                           ? $"; floor: the first {f} training images against the same first {n} test images (real against real, same N; the test split has fewer than {2 * (int)f})"
                           : $"; floor: test images {n}..{2 * (int)f} against the same first {n} (real against real, same N)"));
        if (metrics.ContainsKey("kid_resnet18_std")) parts.Add("kid_*_std is the spread of KID across its 100 subsets, not a standard error");
        return parts.Count == 0 ? "no metrics measured" : string.Join("; ", parts) + ".";
    }

    /// <summary>The card for people: what it is, how it was made, what it measures, what it cannot do.</summary>
    static string Readme(ZooCard card)
    {
        var sb = new StringBuilder();
        string F(double v) => v.ToString(Math.Abs(v) >= 100 ? "0.#" : "0.####", CultureInfo.InvariantCulture);
        sb.AppendLine($"# {card.Name}").AppendLine();
        sb.AppendLine($"A `{card.Family}` model trained on {card.Dataset} ([{string.Join("×", card.Shape)}] images), {card.Parameters:N0} parameters. ")
          .AppendLine($"Load it with `ZooModel.Open(\"{card.Name}\")` in a notebook, or `workbench sample models/{card.Name}` / `workbench eval models/{card.Name}`.").AppendLine();
        sb.AppendLine("![samples](samples.png)").AppendLine();
        sb.AppendLine("## Training").AppendLine();
        sb.AppendLine("| | |").AppendLine("|---|---|");
        sb.AppendLine($"| steps × batch | {card.Steps:N0} × {card.Batch} |");
        sb.AppendLine($"| seed | {card.Seed} |");
        sb.AppendLine($"| wall-clock | {card.WallClockSeconds / 60:F0} min ({card.WallClockSeconds:N0} s) |");
        sb.AppendLine($"| machine | {card.Machine}, {card.Threads} libtorch thread(s) |");
        sb.AppendLine($"| commit | `{card.Commit}` |");
        sb.AppendLine($"| config | `{card.ConfigType}` (in card.json under run.config) |").AppendLine();
        sb.AppendLine("Commands (in order):").AppendLine().AppendLine("```bash");
        foreach (var c in card.Commands) sb.AppendLine(c);
        sb.AppendLine("```").AppendLine();
        sb.AppendLine("## Metrics").AppendLine();
        sb.AppendLine(card.Protocol).AppendLine();
        if (card.Metrics.Count > 0)
        {
            sb.AppendLine("| metric | value | real-vs-real floor |").AppendLine("|---|---|---|");
            foreach (var (k, v) in card.Metrics)
                if (!k.EndsWith("_floor", StringComparison.Ordinal) && v is JsonValue value && value.TryGetValue<double>(out var d))
                    sb.AppendLine($"| {k} | {F(d)} | {(card.Metric(k + "_floor") is double floor ? F(floor) : "")} |");
            sb.AppendLine();
        }
        if (card.EvalCommands.Length > 0)
        {
            sb.AppendLine("Measured with:").AppendLine().AppendLine("```bash");
            foreach (var c in card.EvalCommands) sb.AppendLine(c);
            sb.AppendLine("```").AppendLine();
        }
        if (card.Check["examples"] is JsonValue n && n.GetValue<long>() == 0)
            sb.AppendLine("Check: none (the family has no held-out metric; `zoo verify` checks that the weights load).").AppendLine();
        else sb.AppendLine($"Check (re-measured when packaged, and by the tests): on the first {card.Check["examples"]} test images with libtorch seeded {card.Check["seed"]}, " +
                      string.Join(", ", card.Check.Where(kv => kv.Key is not ("examples" or "seed")).Select(kv =>
                          $"{kv.Key} = {(kv.Value is JsonValue v && v.TryGetValue<double>(out var d) ? F(d) : kv.Value?.ToString() ?? "null")}")) +
                      " (card.json has every digit).").AppendLine();
        sb.AppendLine("## What it cannot do").AppendLine();
        foreach (var l in card.Limitations) sb.AppendLine($"- {l}");
        if (card.Limitations.Length == 0) sb.AppendLine("- (not stated)");
        return sb.ToString();
    }
}
