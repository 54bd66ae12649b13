using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Cli.Families;
using Workbench.Training;
using Workbench.Zoo;
using static TorchSharp.torch;

namespace Workbench.Cli;

/// <summary>
/// <c>workbench zoo list|show|verify|reproduce|add</c>: the trained models that ship in <c>models/</c> (see
/// <see cref="ZooModel"/>, <see cref="ZooCard"/>, <see cref="ZooManifest"/>). <c>sample</c> and <c>eval</c> take a zoo
/// folder as they take a run folder.
/// </summary>
public static class ZooCommand
{
    /// <summary>Metrics a list shows first, in this order, where a card has them.</summary>
    static readonly string[] Headline = ["test_bpd", "test_bpd_iw", "fd_fashion_classifier", "fd_resnet18", "recall_resnet18", "factor_w1_mean"];

    public static Command Create(Option<bool> verbose)
    {
        var zoo = new Option<string?>("--zoo") { Description = "The zoo folder (default: models/ in the repository).", Recursive = true };
        var cmd = new Command("zoo", "Trained models that ship with the project (models/): list, show, verify, reproduce, add.") { zoo };
        cmd.Subcommands.Add(List(verbose, zoo));
        cmd.Subcommands.Add(Show(verbose, zoo));
        cmd.Subcommands.Add(Verify(verbose, zoo));
        cmd.Subcommands.Add(Reproduce(verbose, zoo));
        cmd.Subcommands.Add(Add(verbose, zoo));
        return cmd;
    }

    static string Folder(string? zoo) => zoo ?? ZooModel.DefaultZooFolder
        ?? throw new UsageException("zoo: no models/ folder here (not inside a workbench checkout); give --zoo DIR.");

    static Command List(Option<bool> verbose, Option<string?> zoo)
    {
        var cmd = new Command("list", "One line per model: name, family, dataset, parameters, headline metrics, size.");
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var folder = Folder(p.GetValue(zoo));
            var rows = new List<string[]> { new[] { "name", "family", "dataset", "parameters", "metrics", "size" } };
            var manifest = ZooManifest.Read(folder);
            foreach (var entry in manifest.Models)
            {
                var card = ZooCard.Read(Path.Combine(folder, entry.Name, ZooModel.CardFile));
                long bytes = entry.Files.Keys.Select(f => Path.Combine(folder, entry.Name, f)).Where(File.Exists).Sum(f => new FileInfo(f).Length);
                rows.Add([card.Name, card.Family, card.Dataset, card.Parameters.ToString("N0", CultureInfo.InvariantCulture), HeadlineText(card),
                    $"{bytes / 1e6:F1} MB"]);
            }
            var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var r in rows) Console.Error.WriteLine(string.Join("  ", r.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
            CliOutput.WriteResult(new { zoo = folder, models = manifest.Models.Select(m => m.Name).ToArray() });
            return 0;
        }));
        return cmd;
    }

    static string HeadlineText(ZooCard card) => string.Join(", ", Headline.Where(k => card.Metric(k) is not null).Select(k =>
    {
        var text = $"{k} {card.Metric(k)!.Value.ToString("0.###", CultureInfo.InvariantCulture)}";
        return card.Metric(k + "_floor") is double floor ? $"{text} (floor {floor.ToString("0.###", CultureInfo.InvariantCulture)})" : text;
    }));

    static Command Show(Option<bool> verbose, Option<string?> zoo)
    {
        var name = new Argument<string>("name") { Description = "A zoo model's name (or folder)." };
        var cmd = new Command("show", "Print a model's card (its README.md).") { name };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var model = ZooModel.Open(p.GetValue(name)!, Folder(p.GetValue(zoo)));
            Console.Error.WriteLine(File.ReadAllText(Path.Combine(model.Folder, ZooModel.ReadmeFile)));
            CliOutput.WriteResult(new { name = model.Name, folder = model.Folder, family = model.Card.Family, metrics = model.Card.Metrics });
            return 0;
        }));
        return cmd;
    }

    static Command Verify(Option<bool> verbose, Option<string?> zoo)
    {
        var cmd = new Command("verify", "Check every file's SHA-256 against zoo.json and that every model loads into its family's config; one line per model, exit 1 when any fails.");
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var folder = Folder(p.GetValue(zoo));
            var manifest = ZooManifest.Read(folder);
            if (manifest.Models.Length == 0) throw new UsageException($"{ZooManifest.PathIn(folder)}: no models listed.");
            var failed = new List<string>();
            foreach (var entry in manifest.Models)
            {
                var problem = VerifyOne(folder, entry);
                Console.Error.WriteLine(problem is null ? $"ok    {entry.Name}" : $"FAIL  {entry.Name}: {problem}");
                if (problem is not null) failed.Add(entry.Name);
            }
            CliOutput.WriteResult(new { zoo = folder, models = manifest.Models.Length, failed = failed.ToArray() });
            return failed.Count == 0 ? 0 : 1;
        }));
        return cmd;
    }

    /// <summary>Null when the model's files match zoo.json and its weights load into its family; else what is wrong.</summary>
    static string? VerifyOne(string folder, ZooEntry entry)
    {
        var modelFolder = Path.Combine(folder, entry.Name);
        if (ZooManifest.Problems(modelFolder, entry) is { Count: > 0 } problems) return string.Join("; ", problems);
        try
        {
            using var loaded = LoadedRun.OpenZoo(modelFolder, verify: false);
            if (loaded.Family.Name != entry.Family) return $"zoo.json lists it as {entry.Family} but its card says {loaded.Family.Name}";
            return null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UsageException or JsonException)
        {
            return e.Message;
        }
    }

    static Command Reproduce(Option<bool> verbose, Option<string?> zoo)
    {
        var name = new Argument<string>("name") { Description = "A zoo model's name (or folder)." };
        var steps = NumberOption.Long("--steps", "Train only the first K steps (of the card's schedule) and compare the log's first K rows with the shipped log.csv.");
        var output = new Option<string>("--out") { Description = "Run folder for the re-run.", Required = true };
        var cmd = new Command("reproduce", "Re-run the card's training commands into a new run folder; with --steps K, compare the first K log rows with the shipped log.") { name, steps, output };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            if (p.GetValue(steps) is < 1) throw new UsageException($"--steps {p.GetValue(steps)}: must be at least 1.");
            var model = ZooModel.Open(p.GetValue(name)!, Folder(p.GetValue(zoo)));
            var run = p.GetValue(output)!;
            if (Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any())
                throw new UsageException($"--out {run}: not empty; reproduce writes a new run folder.");
            foreach (var args in ReproductionCommands(model.Card, run, p.GetValue(steps)))
            {
                if (p.GetValue(steps) is long k && File.Exists(RunFolder.LastCheckpoint(run)) && Checkpoint.ReadInfo(RunFolder.LastCheckpoint(run)).Step >= k) break;
                Console.Error.WriteLine("reproduce: workbench " + string.Join(" ", args));
                var code = CliRoot.Run(args);
                if (code != 0) throw new RunFailedException($"reproduce: `workbench {string.Join(" ", args)}` exited {code}", new Exception());
            }
            if (p.GetValue(steps) is not long upTo)
            {
                CliOutput.WriteResult(new { name = model.Name, run });
                return 0;
            }
            var (agree, worst, detail) = CompareLogs(model.LogPath, RunFolder.LogPath(run), upTo);
            var cpu = Provenance.Processor();
            bool sameCpu = model.Card.Machine.StartsWith(cpu, StringComparison.Ordinal);
            var verdict = agree ? $"the first {upTo} steps agree with the shipped log to 1e-5 (largest relative difference {worst:G3})"
                : sameCpu ? $"the first {upTo} steps differ from the shipped log on the same kind of CPU: {detail}"
                : $"the first {upTo} steps differ from the shipped log ({detail}); the CPU differs (trained on {model.Card.Machine}; this is {cpu}), so float rounding may differ";
            Console.Error.WriteLine(verdict);
            CliOutput.WriteResult(new { name = model.Name, run, steps = upTo, agree, largest_relative_difference = double.IsFinite(worst) ? worst : (double?)null, same_cpu = sameCpu });
            return agree || !sameCpu ? 0 : 1;
        }));
        return cmd;
    }

    /// <summary>The card's commands as argument lists, writing into <paramref name="run"/> (their --out/--resume folder
    /// replaced) and, with <paramref name="until"/>, stopping at that step; with the card's thread count unless a command names one.
    /// A command that starts a run also gets <c>--set Field=value</c> for every config field added after the card was
    /// written (<see cref="Workbench.Training.AddedFieldAttribute"/>), with the value it was trained with, so the re-run
    /// trains the card's model and not today's defaults.</summary>
    internal static List<string[]> ReproductionCommands(ZooCard card, string run, long? until)
    {
        var result = new List<string[]>();
        var older = OlderSettings(card);
        foreach (var command in card.Commands)
        {
            var tokens = System.CommandLine.Parsing.CommandLineParser.SplitCommandLine(command).ToList();
            if (tokens.Count > 0 && tokens[0] == "workbench") tokens.RemoveAt(0);
            if (tokens.Count == 0 || tokens[0] != "train") throw new InvalidDataException($"{card.Name}: card command '{command}' is not a `workbench train` command");
            for (int i = 0; i < tokens.Count; i++)
                if (tokens[i] is "--out" or "--resume" && i + 1 < tokens.Count) tokens[i + 1] = run;
                else if (tokens[i] == "--until" && i + 1 < tokens.Count) { tokens.RemoveRange(i, 2); i--; }
            if (!tokens.Contains("--out") && !tokens.Contains("--resume")) tokens.AddRange(["--out", run]);
            if (until is long k) tokens.AddRange(["--until", k.ToString(CultureInfo.InvariantCulture)]);
            if (!tokens.Contains("--threads")) tokens.AddRange(["--threads", card.Threads.ToString(CultureInfo.InvariantCulture)]);   // rounding depends on it
            if (!tokens.Contains("--resume")) foreach (var a in older) tokens.AddRange(["--set", a]);
            result.Add(tokens.ToArray());
        }
        return result;
    }

    /// <summary>"Field=value" for each added config field the card's run.json lacks, with the older value it stands for.</summary>
    static List<string> OlderSettings(ZooCard card)
    {
        var family = FamilyRegistry.Get(card.Family);
        var settings = new List<string>();
        if (card.Run["config"] is not JsonObject config) return settings;
        config = ConfigEvolution.MoveTrainingFields(config, family.ModelConfigType, family.TrainingConfigType);
        foreach (var (key, type) in new[] { ("model", family.ModelConfigType), ("training", family.TrainingConfigType) })
        {
            if (config[key] is not JsonObject recorded) continue;
            foreach (var p in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
                if (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<AddedFieldAttribute>(p) is { } added &&
                    !recorded.Any(kv => string.Equals(kv.Key, p.Name, StringComparison.OrdinalIgnoreCase)))
                {
                    var value = JsonNode.Parse(added.OlderValue);
                    settings.Add($"{p.Name}={(value is null ? "null" : value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString())}");
                }
        }
        return settings;
    }

    /// <summary>Compares every metric of the rows with step ≤ <paramref name="upTo"/> (relative difference, 1e-5).</summary>
    internal static (bool Agree, double Worst, string Detail) CompareLogs(string shippedPath, string newPath, long upTo)
    {
        var shipped = TrainingLog.LoadCsv(shippedPath, upTo);
        var fresh = TrainingLog.LoadCsv(newPath, upTo);
        double worst = 0;
        string detail = "";
        foreach (var name in shipped.MetricNames)
        {
            var (s1, v1) = shipped.Series(name);
            if (s1.Length == 0) continue;   // logged only later (a final evaluation, say)
            if (!fresh.MetricNames.Contains(name)) return (false, double.PositiveInfinity, $"{newPath} has no column {name}");
            var (s2, v2) = fresh.Series(name);
            var byStep = s2.Zip(v2).GroupBy(x => x.First).ToDictionary(g => g.Key, g => g.Last().Second);
            for (int i = 0; i < s1.Length; i++)
            {
                if (!byStep.TryGetValue(s1[i], out var v)) return (false, double.PositiveInfinity, $"{newPath} has no {name} at step {s1[i]}");
                double rel = Math.Abs(v - v1[i]) / Math.Max(Math.Abs(v1[i]), 1e-12);
                if (rel > worst) { worst = rel; detail = $"{name} at step {s1[i]}: shipped {v1[i]:R}, now {v:R}"; }
            }
        }
        return (worst <= 1e-5, worst, detail);
    }

    static Command Add(Option<bool> verbose, Option<string?> zoo)
    {
        var run = new Argument<string>("run") { Description = "The finished run folder to package." };
        var name = new Option<string>("--name") { Description = "The model's name: <family>-<dataset>-<preset>.", Required = true };
        var metrics = new Option<string[]>("--metrics") { Description = "A file holding `workbench eval`'s closing JSON line (repeatable; their numbers go to the card).", AllowMultipleArgumentsPerToken = false };
        var evalCommands = new Option<string[]>("--eval-command") { Description = "The eval command line that produced each --metrics file (recorded in the card).", AllowMultipleArgumentsPerToken = false };
        var limitations = new Option<string[]>("--limitation") { Description = "What the model cannot do, one sentence each (repeatable).", AllowMultipleArgumentsPerToken = false };
        var commands = new Option<string[]>("--command") { Description = "The train commands, when run.json does not record them (runs before they were recorded).", AllowMultipleArgumentsPerToken = false };
        var commit = new Option<string?>("--commit") { Description = "The commit trained at, when run.json does not record it." };
        var threads = NumberOption.Int("--trained-threads", "Threads trained with, when run.json does not record them.");
        var checkExamples = NumberOption.Int("--check-examples", "Test images of the card's check metric (default 256).");
        var cmd = new Command("add", "Package a finished run as a zoo model: inference weights, log, samples, card (card.json + README.md), and its line in zoo.json.")
        { run, name, metrics, evalCommands, limitations, commands, commit, threads, checkExamples };
        cmd.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var folder = Folder(p.GetValue(zoo));
            var card = ZooPackager.Package(p.GetValue(run)!, folder, p.GetValue(name)!, p.GetValue(metrics) ?? [], p.GetValue(evalCommands) ?? [],
                p.GetValue(limitations) ?? [], p.GetValue(commands) ?? [], p.GetValue(commit), p.GetValue(threads), p.GetValue(checkExamples) ?? 256);
            CliOutput.WriteResult(new { name = card.Name, folder = Path.Combine(folder, card.Name), metrics = card.Metrics, check = card.Check });
            return 0;
        }));
        return cmd;
    }
}
