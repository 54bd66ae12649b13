using System.Diagnostics;
using Microsoft.Data.Analysis;
using Workbench.Tests.Cli;

namespace Workbench.Tests.Sweeps;

/// <summary>
/// `sweep run --local` on a tiny NICE through real child `workbench train` processes: every point becomes an
/// ordinary run folder with its result, a failing point is recorded and the others go on, a re-run skips finished
/// points and resumes unfinished ones, and `sweep report` gives the table, mean ± std per setting and the chart.
/// </summary>
[Collection(CliCollection.Name)]
public class SweepLocalTests
{
    [SkippableFact]
    public void LocalSweepRunsEveryPointAndReportsMeanAndStdPerSetting()
    {
        RequiredData.RequireFashionMnist();
        var (file, output) = TinySweep.Write();
        var (code, stdout, err) = CliTestHost.Run("sweep", "run", file, "--out", output, "--local", "2");
        Assert.True(code == 0, err);
        var run = TinySweep.Result(stdout);
        Assert.Equal(4, run["done"]!.GetValue<int>());

        foreach (var name in new[] { "Coupling-Additive_seed-0", "Coupling-Additive_seed-1", "Coupling-Affine_seed-0", "Coupling-Affine_seed-1" })
        {
            var point = Path.Combine(output, name);
            Assert.True(File.Exists(Path.Combine(point, "run.json")), $"{name} has no run.json");
            Assert.True(File.Exists(Path.Combine(point, "checkpoints", "last.safetensors")), $"{name} has no checkpoint");
            Assert.Contains("\"test_bpd\"", File.ReadAllText(Path.Combine(point, "result.json")));
            // Two points at once: each child train gets cores / 2 libtorch threads (OMP_NUM_THREADS, which libtorch reads).
            Assert.Contains($"threads={Math.Max(1, Environment.ProcessorCount / 2)}: ", File.ReadAllText(Path.Combine(point, "train.err")));
        }
        // Each point ran with its own seed and setting.
        Assert.Contains("\"seed\": 1", File.ReadAllText(Path.Combine(output, "Coupling-Affine_seed-1", "run.json")));
        Assert.Contains("\"coupling\": \"Affine\"", File.ReadAllText(Path.Combine(output, "Coupling-Affine_seed-1", "run.json")), StringComparison.OrdinalIgnoreCase);
        Assert.True(File.Exists(Path.Combine(output, "sweep.json")));
        Assert.Equal(4, TinySweep.Count(TinySweep.Status(output), "done"));

        (code, stdout, err) = CliTestHost.Run("sweep", "report", output);
        Assert.True(code == 0, err);
        var report = TinySweep.Result(stdout);
        Assert.Equal("test_bpd", report["metric"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(output, "report.html")));
        Assert.Contains("error_y", File.ReadAllText(Path.Combine(output, "report.html")));

        // The CSVs load back as DataFrames; the summary's mean and std are those of the two seeds.
        var points = DataFrame.LoadCsv(Path.Combine(output, "report.csv"));
        Assert.Equal(4, points.Rows.Count);
        var summary = DataFrame.LoadCsv(Path.Combine(output, "summary.csv"));
        Assert.Equal(2, summary.Rows.Count);
        for (long s = 0; s < summary.Rows.Count; s++)
        {
            var setting = (string)summary.Columns["setting"][s];
            var values = Enumerable.Range(0, 4).Where(i => (string)points.Columns["setting"][i] == setting)
                .Select(i => Convert.ToDouble(points.Columns["test_bpd"][i])).ToArray();
            Assert.Equal(2, values.Length);
            double mean = values.Average(), std = Math.Abs(values[0] - values[1]) / Math.Sqrt(2);
            // (LoadCsv reads the numbers as float: 5 decimals is its precision here.)
            Assert.Equal(mean, Convert.ToDouble(summary.Columns["test_bpd_mean"][s]), 5);
            Assert.Equal(std, Convert.ToDouble(summary.Columns["test_bpd_std"][s]), 5);
            var row = report["settings"]!.AsArray().Single(r => r!["setting"]!.GetValue<string>() == setting)!;
            Assert.Equal(mean, row["mean"]!.GetValue<double>(), 5);
        }
    }

    [SkippableFact]
    public void AFailingPointIsRecordedWithItsMessageWhileTheOthersFinish()
    {
        RequiredData.RequireFashionMnist();
        // DivergenceBpd=1: the first step's ~8 bits/dim counts as divergence, so that point fails at step 1.
        var (file, output) = TinySweep.Write("""{ "DivergenceBpd": [50, 1] }""", "[0]");
        var (code, stdout, err) = CliTestHost.Run("sweep", "run", file, "--out", output, "--local", "2");
        Assert.Equal(1, code);
        Assert.Contains("DivergenceBpd-1_seed-0 FAILED", err);
        var run = TinySweep.Result(stdout);
        Assert.Equal(1, run["done"]!.GetValue<int>());
        Assert.Equal(1, run["failed"]!.GetValue<int>());

        var status = TinySweep.Status(output);
        Assert.Equal(1, TinySweep.Count(status, "failed"));
        var failed = status["point_states"]!.AsArray().Single(p => p!["state"]!.GetValue<string>() == "failed")!;
        Assert.Equal("DivergenceBpd-1_seed-0", failed["name"]!.GetValue<string>());
        Assert.Contains("diverged", failed["message"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);

        (code, _, err) = CliTestHost.Run("sweep", "report", output);
        Assert.True(code == 0, err);
        var points = DataFrame.LoadCsv(Path.Combine(output, "report.csv"));
        var states = Enumerable.Range(0, 2).ToDictionary(i => (string)points.Columns["point"][i], i => (string)points.Columns["state"][i]);
        Assert.Equal("failed", states["DivergenceBpd-1_seed-0"]);
        Assert.Equal("done", states["DivergenceBpd-50_seed-0"]);
    }

    [SkippableFact]
    public void RunningTheSweepAgainSkipsFinishedPointsAndResumesUnfinishedOnes()
    {
        RequiredData.RequireFashionMnist();
        var (file, output) = TinySweep.Write(seeds: "[0]", steps: 4, extra: "\"checkpoint_every\": 2,");
        var (code, _, err) = CliTestHost.Run("sweep", "run", file, "--out", output, "--local", "2");
        Assert.True(code == 0, err);

        // Make one point unfinished, as an interrupted task leaves it: a checkpoint, no result.
        string finished = Path.Combine(output, "Coupling-Additive_seed-0"), unfinished = Path.Combine(output, "Coupling-Affine_seed-0");
        File.Delete(Path.Combine(unfinished, "result.json"));
        File.WriteAllText(Path.Combine(unfinished, "exit_code"), "143\n");
        var status = TinySweep.Status(output);
        Assert.Equal(1, TinySweep.Count(status, "pending"));
        var finishedResult = File.ReadAllText(Path.Combine(finished, "result.json"));
        var finishedTime = File.GetLastWriteTimeUtc(Path.Combine(finished, "result.json"));

        (code, var stdout, err) = CliTestHost.Run("sweep", "run", file, "--out", output, "--local", "2");
        Assert.True(code == 0, err);
        Assert.Equal(1, TinySweep.Result(stdout)["started"]!.GetValue<int>());
        Assert.Equal(2, TinySweep.Count(TinySweep.Status(output), "done"));
        // The finished point was not run again; the unfinished one continued with train --resume from its checkpoint.
        Assert.Equal(finishedResult, File.ReadAllText(Path.Combine(finished, "result.json")));
        Assert.Equal(finishedTime, File.GetLastWriteTimeUtc(Path.Combine(finished, "result.json")));
        var log = File.ReadAllText(Path.Combine(unfinished, "train.err"));
        Assert.Contains($"train --resume {unfinished}", log);
        Assert.Contains($"resuming {unfinished} at step 4", log);
        Assert.True(File.Exists(Path.Combine(unfinished, "result.json")));
    }

    [SkippableFact]
    public void ASweepStoppedBySigtermCheckpointsItsPointsAndTheNextRunResumesThem()
    {
        RequiredData.RequireFashionMnist();
        var (file, output) = TinySweep.Write("{}", "[0]", steps: 40, extra: "\"checkpoint_every\": 3,");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"), "sweep", "run", file, "--out", output, "--local", "1" })
            psi.ArgumentList.Add(a);
        using (var sweep = Process.Start(psi)!)
        {
            var stdout = sweep.StandardOutput.ReadToEndAsync();
            var stderr = sweep.StandardError.ReadToEndAsync();
            var ck = Path.Combine(output, "seed-0", "checkpoints", "last.safetensors");
            var clock = Stopwatch.StartNew();
            while (!File.Exists(ck) && !sweep.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(50);
            Assert.True(File.Exists(ck), "no checkpoint: " + (sweep.HasExited ? stderr.Result : "timed out"));
            using (var kill = Process.Start("kill", new[] { "-TERM", sweep.Id.ToString() })) kill.WaitForExit();
            Assert.True(sweep.WaitForExit(120_000), "the sweep did not stop after SIGTERM");
            Assert.True(sweep.ExitCode == 130, $"exit {sweep.ExitCode}: {stderr.Result}");
            Assert.Equal(0, TinySweep.Result(stdout.Result)["done"]!.GetValue<int>());
        }
        var status = TinySweep.Status(output);
        Assert.Equal(1, TinySweep.Count(status, "pending"));
        var stoppedAt = status["point_states"]![0]!["step"]!.GetValue<long>();
        Assert.InRange(stoppedAt, 3, 39);

        var (code, _, err) = CliTestHost.Run("sweep", "run", file, "--out", output);
        Assert.True(code == 0, err);
        Assert.Equal(1, TinySweep.Count(TinySweep.Status(output), "done"));
        var log = File.ReadAllText(Path.Combine(output, "seed-0", "train.err"));
        Assert.Contains("interrupted at step", log);
        Assert.Contains($"resuming {Path.Combine(output, "seed-0")} at step {stoppedAt} of 40", log);
    }
}
