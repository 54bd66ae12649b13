using System.Text.Json;
using Workbench.Tests.Cli;

namespace Workbench.Tests.Diffusion;

/// <summary>`workbench train|sample|eval diffusion` on the no-download image folder, with a tiny U-Net.</summary>
[Collection(CliCollection.Name)]
public class DiffusionCliTests
{
    static string[] Tiny(string run) => new[]
    {
        "--data", RunFixtures.Images, "--image-size", "8", "--out", run, "--batch", "8", "--sample-every", "0", "--eval-limit", "8",
        "--set", "Channels=8", "--set", "ChannelMultipliers=1,2", "--set", "AttentionResolutions=4", "--set", "Timesteps=20",
        "--set", "Schedule=Cosine", "--set", "SampleSteps=4",
    };

    /// <summary>
    /// SIGTERM during a periodic evaluation (of the bound over 4,000 timesteps: about a minute here) stops within
    /// seconds, exit 130, with a checkpoint at the evaluated step that holds the generator as training left it: the
    /// resumed run trains the same steps as a run that was never stopped.
    /// </summary>
    [Fact]
    public void SigtermDuringAPeriodicEvaluationCheckpointsAndTheResumeTrainsTheSameSteps()
    {
        string[] Long(string run) => Tiny(run).Concat(new[] { "--set", "Timesteps=4000", "--set", "BoundEvaluations=4000", "--checkpoint-every", "1" }).ToArray();
        var stopped = RunFixtures.NewRun("diffusion-stop-in-eval");
        var ck = Path.Combine(stopped, "checkpoints", "last.safetensors");
        using (var p = RunFixtures.Start(new[] { "train", "diffusion", "--steps", "4", "--until", "3", "--set", "EvalEvery=2" }.Concat(Long(stopped)).ToArray()))
        {
            RunFixtures.WaitFor(p, () => File.Exists(ck) && Workbench.Training.Checkpoint.ReadInfo(ck).Step >= 1);
            Assert.False(p.HasExited, "the run ended before its evaluation");
            Thread.Sleep(3000);   // step 2 takes milliseconds: the evaluation at step 2 has been drawing noise for seconds
            Assert.False(p.HasExited, "the run ended before its evaluation");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using (var kill = System.Diagnostics.Process.Start("kill", new[] { "-TERM", p.Id.ToString() })) kill.WaitForExit();
            Assert.True(p.WaitForExit(30_000), "the run did not stop within 30 s of SIGTERM during its evaluation");
            Assert.Equal(130, p.ExitCode);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0, 30);
        }
        Assert.Equal(2, Workbench.Training.Checkpoint.ReadInfo(ck).Step);   // stopped in step 2's evaluation
        Assert.DoesNotContain(File.ReadAllLines(Path.Combine(stopped, "log.csv")).Skip(1), l => l.Split(',')[2].Length == 0);   // nor logged
        var resumed = CliTestHost.Run("train", "--resume", stopped, "--until", "3");
        Assert.True(resumed.Code == 0, resumed.Err);

        var straight = RunFixtures.NewRun("diffusion-never-stopped");
        var s = CliTestHost.Run(new[] { "train", "diffusion", "--steps", "4", "--until", "3" }.Concat(Long(straight)).ToArray());
        Assert.True(s.Code == 0, s.Err);
        string[] Losses(string folder) => File.ReadAllLines(Path.Combine(folder, "log.csv")).Skip(1)
            .Select(l => l.Split(',')).Where(c => c[2].Length > 0).Select(c => c[0] + ":" + c[2]).ToArray();
        Assert.Equal(3, Losses(straight).Length);
        Assert.Equal(Losses(straight), Losses(stopped));
    }

    [Fact]
    public void DiffusionTrainsResumesSamplesAndEvaluates()
    {
        var run = RunFixtures.NewRun("diffusion");
        var a = CliTestHost.Run(new[] { "train", "diffusion", "--steps", "3" }.Concat(Tiny(run)).ToArray());
        Assert.True(a.Code == 0, a.Err);
        using (var j = JsonDocument.Parse(a.Out.Trim().Split('\n')[^1]))
        {
            Assert.Equal("diffusion", j.RootElement.GetProperty("model").GetString());
            Assert.True(j.RootElement.GetProperty("test_bpd").GetDouble() > 1);   // untrained: far above 8 bits/dim
            Assert.InRange(j.RootElement.GetProperty("eval_examples").GetInt64(), 1, 8);   // --eval-limit 8 (the folder's held-out part may be smaller)
        }
        Assert.Equal(new long[] { 1, 2, 3 }, RunFixtures.TrainRows(run, "loss"));

        // a resume may change the sampler's step count, not the U-Net's width
        var refused = CliTestHost.Run("train", "--resume", run, "--steps", "5", "--set", "Channels=16");
        RunFixtures.AssertOneLineError(refused.Code, refused.Err, "Channels");
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "5", "--set", "SampleSteps=3");
        Assert.True(b.Code == 0, b.Err);
        Assert.Contains("resuming", b.Err);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, RunFixtures.TrainRows(run, "loss"));

        var png = Path.Combine(run, "grid.png");
        var s = CliTestHost.Run("sample", run, "--n", "4", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));
        using (var j = JsonDocument.Parse(s.Out.Trim().Split('\n')[^1]))
            Assert.True(j.RootElement.GetProperty("seconds_per_image").GetDouble() > 0);

        // sample --set picks the sampler of a trained run: DDIM (η = 0) is the same map of x_T twice, the ancestral
        // sampler (fresh noise at every step) is not; a setting that changes the model is refused by name
        var again = Path.Combine(run, "again.png");
        Assert.Equal(0, CliTestHost.Run("sample", run, "--n", "4", "--out", again, "--set", "SampleSteps=3").Code);
        Assert.Equal(File.ReadAllBytes(png), File.ReadAllBytes(again));
        var ddpm = Path.Combine(run, "ddpm.png");
        var anc = CliTestHost.Run("sample", run, "--n", "4", "--out", ddpm, "--set", "SampleAncestral=true");
        Assert.True(anc.Code == 0, anc.Err);
        Assert.NotEqual(File.ReadAllBytes(png), File.ReadAllBytes(ddpm));
        var wider = CliTestHost.Run("sample", run, "--n", "4", "--out", ddpm, "--set", "Channels=16");
        RunFixtures.AssertOneLineError(wider.Code, wider.Err, "sample: Channels cannot change");

        var e = CliTestHost.Run("eval", run, "--eval-limit", "4");
        Assert.True(e.Code == 0, e.Err);
        using (var j = JsonDocument.Parse(e.Out.Trim().Split('\n')[^1]))
            Assert.True(j.RootElement.GetProperty("test_bpd").GetDouble() > 1);
    }
}
