using System.Diagnostics;
using Microsoft.Data.Analysis;
using Workbench.Tests.Cli;

namespace Workbench.Tests.Sweeps;

/// <summary>
/// `sweep run --slurm` through a real Slurm (the single-node cluster .ci/slurm-up starts): one sbatch job array of 4
/// tiny points, read back with `sweep status` and `sweep report`. Reported skipped, with the reason, when no Slurm
/// answers on this machine.
/// </summary>
[Collection(CliCollection.Name)]
public class SweepSlurmTests
{
    /// <summary>Why no Slurm cluster is usable here (null when sinfo shows a partition up and a node idle or mixed).</summary>
    static string? SlurmMissing()
    {
        try
        {
            var psi = new ProcessStartInfo("sinfo", new[] { "-h", "-o", "%a %T" }) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var text = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(15_000)) { p.Kill(); return "sinfo did not answer within 15 s"; }
            if (p.ExitCode != 0) return $"sinfo failed: {err.Result.Trim()} (start a single-node cluster with .ci/slurm-up as root)";
            return text.Split('\n').Any(l => l.StartsWith("up ") && (l.Contains("idle") || l.Contains("mixed") || l.Contains("allocated")))
                ? null : $"no Slurm partition up with a usable node (sinfo: {text.Trim()})";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "Slurm is not installed (no sinfo on PATH; .ci/slurm-up installs slurm-wlm and starts a single-node cluster as root)";
        }
    }

    /// <summary>Whether squeue still lists any task of the job.</summary>
    static bool InQueue(string job)
    {
        using var p = Process.Start(new ProcessStartInfo("squeue", new[] { "-h", "-o", "%i", "-j", job }) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 && text.Trim().Length > 0;
    }

    [SkippableFact]
    public void FourPointSweepRunsAsOneSlurmJobArrayAndReportsBack()
    {
        if (SlurmMissing() is { } reason) throw new SkipTestException(reason);
        RequiredData.RequireFashionMnist();
        var (file, output) = TinySweep.Write();
        var (code, stdout, err) = CliTestHost.Run("sweep", "run", file, "--out", output, "--slurm", "--time", "00:05:00");
        Assert.True(code == 0, err);
        var submitted = TinySweep.Result(stdout);
        var job = submitted["job_id"]!.GetValue<string>();
        Assert.Equal("0-3", submitted["array"]!.GetValue<string>());
        Assert.Contains("#SBATCH --time=00:05:00", File.ReadAllText(Path.Combine(output, "slurm", "sweep.sbatch")));

        var clock = Stopwatch.StartNew();
        var status = TinySweep.Status(output);
        bool queued = true;
        while (TinySweep.Count(status, "done") + TinySweep.Count(status, "failed") < 4 && queued && clock.Elapsed < TimeSpan.FromMinutes(4))
        {
            Thread.Sleep(1000);
            queued = InQueue(job);   // read before the status, so a job that just ended still shows its points' files
            status = TinySweep.Status(output);
        }
        Assert.True(TinySweep.Count(status, "done") == 4, $"after {clock.Elapsed}: {status.ToJsonString()}");

        // Every task ran under Slurm: Slurm wrote its output file for each array task.
        for (int i = 0; i < 4; i++)
            Assert.True(File.Exists(Path.Combine(output, "slurm", $"{job}_{i}.out")), $"no Slurm output for task {job}_{i}");

        (code, stdout, err) = CliTestHost.Run("sweep", "report", output);
        Assert.True(code == 0, err);
        var points = DataFrame.LoadCsv(Path.Combine(output, "report.csv"));
        Assert.Equal(4, points.Rows.Count);
        Assert.All(Enumerable.Range(0, 4), i => Assert.True(double.IsFinite(Convert.ToDouble(points.Columns["test_bpd"][i]))));

        // Submitting the finished sweep again submits nothing.
        (code, stdout, err) = CliTestHost.Run("sweep", "run", file, "--out", output, "--slurm");
        Assert.True(code == 0, err);
        Assert.Null(TinySweep.Result(stdout)["job_id"]);
    }
}
