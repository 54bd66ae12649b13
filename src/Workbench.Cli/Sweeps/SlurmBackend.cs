using System.Diagnostics;
using System.Text;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// Submits a sweep's unfinished points as one Slurm job array: writes <c>slurm/sweep.sbatch</c> (the
/// <c>#SBATCH</c> header with the given partition, time limit, GPUs and CPUs per task, <c>--requeue</c>, output to
/// <c>slurm/%A_%a.out</c>, and a body that runs <c>task.sh $SLURM_ARRAY_TASK_ID</c>) and runs
/// <c>sbatch --array=INDICES</c> on it. A requeued or resubmitted task resumes from its checkpoint (task.sh runs
/// <c>train --resume</c>). Job ids are appended to <c>slurm/jobs</c>; while one of them is still queued or running,
/// a new submission is refused.
/// </summary>
public static class SlurmBackend
{
    public sealed record Options(string? Partition, string? Time, string? Gpus, int CpusPerTask);

    /// <summary>Submits the points that are not done; returns the job id (null when nothing is left to run) and the
    /// array specification.</summary>
    public static (string? JobId, string Array) Submit(string dir, IReadOnlyList<SweepPoint> points, Options o)
    {
        var slurm = SweepFolder.SlurmDir(dir);
        Directory.CreateDirectory(slurm);
        var jobsFile = Path.Combine(slurm, "jobs");
        if (File.Exists(jobsFile))
        {
            var ids = File.ReadAllLines(jobsFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (ids.Length > 0)
            {
                var (code, queued, _) = Run("squeue", "-h", "-o", "%i", "-j", string.Join(",", ids));
                if (code == 0 && queued.Trim().Length > 0)
                    throw new UsageException($"{dir}: Slurm job {queued.Trim().Split('\n')[0].Split('_')[0]} of this sweep is still queued or running; wait for it (sweep status {dir}) or scancel it.");
            }
        }
        var todo = points.Where(p => PointStatus.Read(dir, p).State != PointState.Done).Select(p => p.Index).ToList();
        if (todo.Count == 0) return (null, "");
        var array = Ranges(todo);

        var script = Path.Combine(slurm, "sweep.sbatch");
        var sb = new StringBuilder("#!/usr/bin/env bash\n");
        sb.Append($"#SBATCH --job-name={JobName(SweepFolder.ReadName(dir))}\n");
        sb.Append($"#SBATCH --output={Path.GetFullPath(slurm)}/%A_%a.out\n");
        sb.Append("#SBATCH --open-mode=append\n#SBATCH --requeue\n");
        sb.Append($"#SBATCH --cpus-per-task={o.CpusPerTask}\n");
        if (o.Partition is not null) sb.Append($"#SBATCH --partition={o.Partition}\n");
        if (o.Time is not null) sb.Append($"#SBATCH --time={o.Time}\n");
        if (o.Gpus is not null) sb.Append($"#SBATCH --gpus={o.Gpus}\n");
        sb.Append("# Written by `workbench sweep run … --slurm`; submitted with --array=<the unfinished points' indices>.\n");
        sb.Append("export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} MKL_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}\n");
        sb.Append($"exec bash {TaskScript.Quote(Path.GetFullPath(SweepFolder.TaskScriptPath(dir)))} \"$SLURM_ARRAY_TASK_ID\"\n");
        File.WriteAllText(script, sb.ToString());

        var (rc, stdout, stderr) = Run("sbatch", "--parsable", $"--array={array}", script);
        if (rc != 0)
            throw new UsageException($"sbatch failed (exit {rc}): {FirstLine(stderr) ?? FirstLine(stdout) ?? "no message"}");
        var jobId = stdout.Trim().Split(';')[0];
        File.AppendAllText(jobsFile, jobId + "\n");
        return (jobId, array);
    }

    /// <summary>Indices as Slurm's array syntax: <c>0-3,5,7-8</c>.</summary>
    public static string Ranges(IReadOnlyList<int> sorted)
    {
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }

    /// <summary>The sweep name as a Slurm job name: letters, digits, '.', '_' and '-' kept, anything else as '-'.</summary>
    static string JobName(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray());

    static string? FirstLine(string s) => s.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0);

    /// <summary>Runs a Slurm client command; a missing command is a usage error naming it.</summary>
    static (int Code, string Out, string Err) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output, err.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new UsageException($"--slurm: {exe} is not on PATH (run on a Slurm login node; .ci/slurm-up starts a single-node test cluster).");
        }
    }
}
