using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// Runs a sweep's unfinished points on this machine, <c>parallel</c> at a time, each as <c>bash task.sh INDEX</c>
/// (a child <c>workbench train</c>) with <c>OMP_NUM_THREADS</c>/<c>MKL_NUM_THREADS</c> set to its libtorch thread
/// count. Finished and running points are skipped. A failing point is reported and the others go on. On Ctrl-C or
/// SIGTERM no new point starts and the running ones are asked to stop (train checkpoints and exits); the next
/// <c>sweep run</c> resumes them.
/// </summary>
public static class LocalBackend
{
    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    /// <summary>Runs the points; returns how many were started and whether it was interrupted.</summary>
    public static (int Started, bool Interrupted) Run(string dir, IReadOnlyList<SweepPoint> points, int parallel, int threads)
    {
        var todo = new List<SweepPoint>();
        foreach (var p in points)
        {
            var s = PointStatus.Read(dir, p);
            if (s.State == PointState.Done) continue;
            if (s.State == PointState.Running) { Console.Error.WriteLine($"sweep: {p.Name} is running elsewhere, skipped"); continue; }
            todo.Add(p);
        }
        Console.Error.WriteLine($"sweep: {points.Count - todo.Count} of {points.Count} points finished or running; {todo.Count} to run, {parallel} at a time, {threads} thread(s) each");

        bool stop = false;
        var running = new Dictionary<SweepPoint, Process>();
        var gate = new object();
        void Stop()
        {
            lock (gate)
            {
                stop = true;
                foreach (var child in running.Values) kill(child.Id, 15);   // task.sh passes it on to train
            }
        }
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Stop(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Stop(); });
        int started = 0, finished = 0;
        try
        {
            Parallel.ForEach(Partitioner.Create(todo, EnumerablePartitionerOptions.NoBuffering), new ParallelOptions { MaxDegreeOfParallelism = parallel }, p =>
            {
                Process child;
                lock (gate)
                {
                    if (stop) return;
                    var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
                    psi.ArgumentList.Add(SweepFolder.TaskScriptPath(dir));
                    psi.ArgumentList.Add(p.Index.ToString(CultureInfo.InvariantCulture));
                    psi.Environment["OMP_NUM_THREADS"] = psi.Environment["MKL_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
                    child = Process.Start(psi)!;
                    running[p] = child;
                    started++;
                    Console.Error.WriteLine($"sweep: started {p.Name}");
                }
                var err = child.StandardError.ReadToEndAsync();
                child.StandardOutput.ReadToEnd();
                child.WaitForExit();
                var s = PointStatus.Read(dir, p);
                lock (gate)
                {
                    running.Remove(p);
                    finished++;
                    var what = s.State switch
                    {
                        PointState.Done => "done",
                        PointState.Failed => $"FAILED: {s.Message}",
                        _ => $"stopped at step {s.Step ?? 0} (exit {child.ExitCode}{(err.Result.Trim().Length > 0 ? ": " + err.Result.Trim() : "")}); run the sweep again to resume",
                    };
                    Console.Error.WriteLine($"sweep: [{finished}/{todo.Count}] {p.Name} {what}");
                }
                child.Dispose();
            });
        }
        finally { Console.CancelKeyPress -= onCancel; }
        return (started, stop);
    }
}
