using System.Diagnostics;
using System.Globalization;

namespace Workbench.Cli.Sweeps;

/// <summary>Where a point stands: finished, running now, failed (with train's error message), or not finished.</summary>
public enum PointState { Done, Running, Failed, Pending }

/// <summary>
/// A point's state read from the files <see cref="TaskScript"/> leaves: <c>result.json</c> → done; a
/// <c>running</c> marker whose process is alive (same host) or whose Slurm task is still in <c>squeue</c> → running;
/// an exit code other than 0 and other than an interruption (130 SIGINT, 143 SIGTERM) → failed, with the last
/// <c>error:</c> line of <c>train.err</c>; anything else (never started, interrupted, stale marker) → pending.
/// <see cref="Step"/> is the last logged step from the run's <c>log.csv</c>, if any.
/// </summary>
public sealed record PointStatus(SweepPoint Point, PointState State, string? Message, long? Step)
{
    public static PointStatus Read(string dir, SweepPoint p)
    {
        var run = SweepFolder.PointDir(dir, p);
        long? step = LastStep(RunFolder.LogPath(run));
        if (File.Exists(Path.Combine(run, TaskScript.ResultFile))) return new(p, PointState.Done, null, step);
        var marker = Path.Combine(run, TaskScript.RunningFile);
        if (File.Exists(marker) && Alive(File.ReadAllText(marker))) return new(p, PointState.Running, null, step);
        var codeFile = Path.Combine(run, TaskScript.ExitCodeFile);
        if (File.Exists(codeFile) && int.TryParse(File.ReadAllText(codeFile).Trim(), out var code) && code is not (0 or 130 or 143))
            return new(p, PointState.Failed, ErrorMessage(Path.Combine(run, TaskScript.ErrFile)) ?? $"exit code {code}", step);
        return new(p, PointState.Pending, null, step);
    }

    /// <summary>The last "error: …" line train wrote (its one-line error), else the last non-empty line.</summary>
    static string? ErrorMessage(string errFile)
    {
        if (!File.Exists(errFile)) return null;
        var lines = File.ReadAllLines(errFile).Where(l => l.Trim().Length > 0).ToArray();
        var error = lines.LastOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal));
        return (error is not null ? error["error:".Length..] : lines.LastOrDefault())?.Trim();
    }

    /// <summary>Whether the marker "host pid [slurmjob_task]" names a live task.</summary>
    static bool Alive(string marker)
    {
        var parts = marker.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length >= 3) return SlurmKnows(parts[2]);
        if (parts.Length == 2 && parts[0] == Environment.MachineName.Split('.')[0] && int.TryParse(parts[1], out var pid))
            return OperatingSystem.IsLinux() ? LinuxProcessRuns(pid) : ProcessExists(pid);
        return parts.Length == 2;   // another host's process: cannot tell, so it counts as running
    }

    /// <summary>Whether /proc lists <paramref name="pid"/> as a process that still runs: a zombie (state Z: dead, not yet
    /// reaped by its parent, which a killed sweep driver leaves for a moment) or a dead one (X) does not.</summary>
    internal static bool LinuxProcessRuns(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S …": the command may hold spaces and parentheses, the state follows the last ')'
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is not ('Z' or 'X' or 'x');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    static bool ProcessExists(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>True when <c>squeue</c> lists the Slurm task (or when there is no squeue to ask).</summary>
    static bool SlurmKnows(string task)
    {
        try
        {
            var psi = new ProcessStartInfo("squeue", new[] { "-h", "-o", "%i", "-j", task }) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var q = Process.Start(psi)!;
            var text = q.StandardOutput.ReadToEnd();
            q.WaitForExit();
            return q.ExitCode == 0 && text.Trim().Length > 0;
        }
        catch (System.ComponentModel.Win32Exception) { return true; }
    }

    static long? LastStep(string logCsv)
    {
        if (!File.Exists(logCsv)) return null;
        var last = File.ReadLines(logCsv).Skip(1).LastOrDefault(l => l.Length > 0);
        return last is not null && long.TryParse(last.Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : null;
    }
}
