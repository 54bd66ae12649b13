using System.Text.Json;

namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class GlowCliTests
{
    [SkippableFact]
    public void GlowTrainsResumesSamplesAndEvaluatesInProcess()
    {
        RequiredData.RequireFashionMnist();
        var run = Path.Combine(Directory.CreateTempSubdirectory("wb-glow").FullName, "run");
        var tiny = new[] { "--set", "Levels=2", "--set", "StepsPerLevel=1", "--set", "HiddenChannels=8", "--batch", "8",
            "--sample-every", "0", "--eval-limit", "32", "--out", run };
        var a = CliTestHost.Run(new[] { "train", "glow", "--steps", "3" }.Concat(tiny).ToArray());
        Assert.True(a.Code == 0, a.Err);
        using (var j = JsonDocument.Parse(a.Out.Trim().Split('\n')[^1]))
        {
            Assert.Equal("glow", j.RootElement.GetProperty("model").GetString());
            Assert.InRange(j.RootElement.GetProperty("test_bpd").GetDouble(), 1, 16);
        }
        var again = CliTestHost.Run(new[] { "train", "glow", "--steps", "3" }.Concat(tiny).ToArray());
        Assert.Equal(2, again.Code); // refuses to overwrite a run
        Assert.Contains("--resume", again.Err);
        // the run remembers its --eval-limit: a resume without it still evaluates on 32 examples
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "5");
        Assert.True(b.Code == 0, b.Err);
        Assert.Contains("resuming", b.Err);
        using (var j = JsonDocument.Parse(b.Out.Trim().Split('\n')[^1]))
            Assert.Equal(32, j.RootElement.GetProperty("eval_examples").GetInt64());
        var png = Path.Combine(run, "grid.png");
        var s = CliTestHost.Run("sample", run, "--n", "4", "--temperature", "0.7", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));
        var bad = CliTestHost.Run("sample", run, "--temperature", "0.7", "--psi", "0.5");
        Assert.Equal(2, bad.Code);

        // A checkpoint whose config differs from the run's is refused by name, exit code 2, no stack trace.
        var info = Path.Combine(run, "run.json");
        File.WriteAllText(info, File.ReadAllText(info).Replace("\"HiddenChannels\": 8", "\"HiddenChannels\": 16"));
        var mismatch = CliTestHost.Run("eval", run, "--eval-limit", "8");
        Assert.Equal(2, mismatch.Code);
        Assert.Contains("HiddenChannels", mismatch.Err);
        Assert.DoesNotContain("   at ", mismatch.Err);
    }

    [Fact]
    public void TrainEvaluatesOnTheHeldOutSplitEveryEvalEverySteps()
    {
        var run = RunFixtures.NewRun("eval-every");
        var r = CliTestHost.Run(RunFixtures.TinyGlow(run, 5, "--set", "EvalEvery=2"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(new long[] { 2, 4, 5 }, RunFixtures.TrainRows(run, "test_bpd"));
        // the evaluations do not move the training's random numbers: the same train rows as a run without them
        var plain = RunFixtures.NewRun("eval-never");
        Assert.Equal(0, CliTestHost.Run(RunFixtures.TinyGlow(plain, 5)).Code);
        string[] TrainBpd(string folder) => File.ReadAllLines(Path.Combine(folder, "log.csv")).Skip(1)
            .Select(l => l.Split(',')).Where(c => c[2].Length > 0).Select(c => c[0] + ":" + c[2]).ToArray();
        Assert.Equal(TrainBpd(plain), TrainBpd(run));
    }

    [SkippableFact]
    public void PolyakAveragedGlowIsCheckpointedAndResumes()
    {
        RequiredData.RequireFashionMnist();
        var run = Path.Combine(Directory.CreateTempSubdirectory("wb-glow-ema").FullName, "run");
        var a = CliTestHost.Run("train", "glow", "--steps", "2", "--set", "Levels=2", "--set", "StepsPerLevel=1", "--set", "HiddenChannels=8",
            "--set", "EmaDecay=0.9", "--batch", "8", "--sample-every", "0", "--eval-limit", "16", "--out", run);
        Assert.True(a.Code == 0, a.Err);
        var ck = Path.Combine(run, "checkpoints", "last.safetensors");
        var (tensors, meta) = Workbench.Training.Checkpoint.Load(ck);
        Assert.Contains(tensors.Keys, k => k.StartsWith("ema.", StringComparison.Ordinal));
        Assert.Equal(tensors.Keys.Count(k => k.StartsWith("model.", StringComparison.Ordinal)), tensors.Keys.Count(k => k.StartsWith("ema.", StringComparison.Ordinal)));
        foreach (var t in tensors.Values) t.Dispose();
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "3");
        Assert.True(b.Code == 0, b.Err);
        Assert.Contains("resuming", b.Err);
    }
}
