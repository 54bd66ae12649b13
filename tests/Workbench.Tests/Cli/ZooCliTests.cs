using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Flows;
using Workbench.Nvae;
using Workbench.Zoo;

namespace Workbench.Tests.Cli;

/// <summary><c>workbench zoo</c> on a tiny Glow trained on the fixture images: add, list, verify (a flipped byte named),
/// sample and eval on the zoo folder (the EMA weights, as the run evaluates), reproduce --steps, and --until.</summary>
[Collection(CliCollection.Name)]
public class ZooCliTests
{
    static JsonElement LastLine(string output) => JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

    /// <summary>A finished tiny Glow run (Polyak-averaged, so the zoo must ship the EMA copy) and a zoo folder beside it.</summary>
    static (string Run, string Zoo) TrainedRun(string what)
    {
        var run = RunFixtures.NewRun(what);
        var a = CliTestHost.Run(RunFixtures.TinyGlow(run, 6, "--set", "EmaDecay=0.5", "--checkpoint-every", "3"));
        Assert.True(a.Code == 0, a.Err);
        return (run, Path.Combine(Path.GetDirectoryName(run)!, "models"));
    }

    static string Add(string run, string zoo, string name = "glow-fixture-tiny")
    {
        var metrics = Path.Combine(Path.GetDirectoryName(run)!, "eval.json");
        var e = CliTestHost.Run("eval", run, "--quality", "0");
        Assert.True(e.Code == 0, e.Err);
        File.WriteAllText(metrics, e.Out);
        var add = CliTestHost.Run("zoo", "add", run, "--name", name, "--zoo", zoo, "--metrics", metrics,
            "--eval-command", "workbench eval run --quality 0", "--limitation", "8x8 noise images only.", "--check-examples", "8");
        Assert.True(add.Code == 0, add.Err);
        return Path.Combine(zoo, name);
    }

    [Fact]
    public void AddedModelVerifiesAndEvaluatesWithTheRunsInferenceWeights()
    {
        var (run, zoo) = TrainedRun("zoo-add");
        var folder = Add(run, zoo);
        foreach (var f in ZooModel.Files) Assert.True(File.Exists(Path.Combine(folder, f)), f);

        var card = ZooCard.Read(Path.Combine(folder, "card.json"));
        Assert.Equal("glow", card.Family);
        Assert.Equal(6, card.Steps);
        Assert.Single(card.Commands);
        Assert.StartsWith("workbench train glow", card.Commands[0]);
        Assert.NotNull(card.Metric("test_bpd"));
        Assert.Equal(40, card.Commit.Length);

        // The zoo folder evaluates exactly as the run does: the shipped weights are the EMA copy evaluation reads.
        var fromRun = CliTestHost.Run("eval", run, "--quality", "0");
        var fromZoo = CliTestHost.Run("eval", folder, "--quality", "0");
        Assert.True(fromZoo.Code == 0, fromZoo.Err);
        Assert.Equal(LastLine(fromRun.Out).GetProperty("test_bpd").GetDouble(), LastLine(fromZoo.Out).GetProperty("test_bpd").GetDouble(), 6);
        var png = Path.Combine(Path.GetDirectoryName(run)!, "zoo-grid.png");
        var s = CliTestHost.Run("sample", folder, "--n", "4", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));

        var list = CliTestHost.Run("zoo", "list", "--zoo", zoo);
        Assert.True(list.Code == 0, list.Err);
        Assert.Contains("glow-fixture-tiny", list.Err);
        Assert.Contains("test_bpd", list.Err);
        var show = CliTestHost.Run("zoo", "show", "glow-fixture-tiny", "--zoo", zoo);
        Assert.True(show.Code == 0, show.Err);
        Assert.Contains("8x8 noise images only.", show.Err);
        var ok = CliTestHost.Run("zoo", "verify", "--zoo", zoo);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("ok    glow-fixture-tiny", ok.Err);
    }

    [Fact]
    public void AFlippedByteIsNamedWithItsFileAndNothingLoadsFromIt()
    {
        var (run, zoo) = TrainedRun("zoo-flip");
        var folder = Add(run, zoo);
        var weights = Path.Combine(folder, "weights.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^5] ^= 0x01;
        File.WriteAllBytes(weights, bytes);
        var readme = Path.Combine(folder, "README.md");   // no loader reads it: only zoo.json's SHA-256 can find the change
        File.WriteAllText(readme, File.ReadAllText(readme).Replace("8x8", "9x9"));

        var verify = CliTestHost.Run("zoo", "verify", "--zoo", zoo);
        Assert.Equal(1, verify.Code);
        Assert.Contains("FAIL  glow-fixture-tiny", verify.Err);
        Assert.Contains("weights.safetensors", verify.Err);
        Assert.Contains("README.md does not match", verify.Err);
        var sample = CliTestHost.Run("sample", folder, "--n", "2", "--out", Path.Combine(folder, "..", "x.png"));
        RunFixtures.AssertOneLineError(sample.Code, sample.Err, "weights.safetensors");
        var unknown = CliTestHost.Run("zoo", "show", "no-such-model", "--zoo", zoo);
        RunFixtures.AssertOneLineError(unknown.Code, unknown.Err, "glow-fixture-tiny");   // lists the known ones
    }

    [Fact]
    public void ReproduceStepsAgreesWithTheShippedLogAndTheLibraryRefusesAnotherFamily()
    {
        var (run, zoo) = TrainedRun("zoo-reproduce");
        var folder = Add(run, zoo);
        var again = Path.Combine(Path.GetDirectoryName(run)!, "again");
        var r = CliTestHost.Run("zoo", "reproduce", "glow-fixture-tiny", "--zoo", zoo, "--steps", "4", "--out", again);
        Assert.True(r.Code == 0, r.Err);
        Assert.True(LastLine(r.Out).GetProperty("agree").GetBoolean(), r.Err);
        Assert.Equal(4, RunFixtures.TrainRows(again).Max());

        // a log that is not what these commands produce is reported as differing (same CPU: exit 1)
        var log = Path.Combine(folder, "log.csv");
        var lines = File.ReadAllLines(log);
        var cells = lines[2].Split(',');
        cells[2] = (double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture) + 0.01).ToString(System.Globalization.CultureInfo.InvariantCulture);
        lines[2] = string.Join(",", cells);
        File.WriteAllLines(log, lines);
        var manifest = ZooManifest.Read(zoo);
        manifest.With(new ZooEntry("glow-fixture-tiny", "glow", ZooManifest.HashFiles(folder))).Write(zoo);
        var differs = CliTestHost.Run("zoo", "reproduce", "glow-fixture-tiny", "--zoo", zoo, "--steps", "4", "--out", again + "2");
        Assert.Equal(1, differs.Code);
        Assert.Contains("differ", differs.Err);

        var model = ZooModel.Open(folder);
        var wrong = Assert.Throws<InvalidDataException>(() => model.ModelConfig<NvaeConfig>());
        Assert.Contains("glow", wrong.Message);
        Assert.Contains("NvaeConfig", wrong.Message);
        using var glow = new Glow(model.ModelConfig<GlowConfig>(), 3, 8, 8);
        Assert.Equal(6, model.LoadWeights(glow).Step);
    }

    [Fact]
    public void UntilStopsAtAStepWithoutChangingTheScheduleAndTheResumeMatchesAStraightRun()
    {
        var straight = RunFixtures.NewRun("until-straight");
        Assert.Equal(0, CliTestHost.Run(RunFixtures.TinyGlow(straight, 6)).Code);
        var split = RunFixtures.NewRun("until-split");
        var first = CliTestHost.Run(RunFixtures.TinyGlow(split, 6, "--until", "2"));
        Assert.True(first.Code == 0, first.Err);
        Assert.Equal(2, LastLine(first.Out).GetProperty("steps").GetInt64());
        Assert.Equal(6, JsonNode.Parse(File.ReadAllText(Path.Combine(split, "run.json")))!["steps"]!.GetValue<long>());
        var before = File.ReadAllText(Path.Combine(split, "run.json"));
        var refused = CliTestHost.Run("train", "--resume", split, "--until", "2");
        RunFixtures.AssertOneLineError(refused.Code, refused.Err, "--until 2");
        Assert.Equal(before, File.ReadAllText(Path.Combine(split, "run.json")));   // a refused resume records nothing
        var rest = CliTestHost.Run("train", "--resume", split);
        Assert.True(rest.Code == 0, rest.Err);
        var commands = JsonNode.Parse(File.ReadAllText(Path.Combine(split, "run.json")))!["commands"]!.AsArray();
        Assert.Equal(2, commands.Count);
        Assert.Contains("--until 2", commands[0]!.GetValue<string>());
        Assert.Equal($"workbench train --resume {split}", commands[1]!.GetValue<string>());
        Assert.Equal(File.ReadAllLines(Path.Combine(straight, "log.csv")).Skip(1).Select(l => string.Join(",", l.Split(',').Where((_, i) => i != 1))),
                     File.ReadAllLines(Path.Combine(split, "log.csv")).Skip(1).Select(l => string.Join(",", l.Split(',').Where((_, i) => i != 1))));
    }
}
