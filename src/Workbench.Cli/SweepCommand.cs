using System.CommandLine;
using System.Globalization;
using Workbench.Cli.Sweeps;

namespace Workbench.Cli;

/// <summary>
/// <c>workbench sweep run FILE --out DIR [--local N | --slurm …]</c>, <c>workbench sweep status DIR</c> and
/// <c>workbench sweep report DIR</c>: expands a sweep file (<see cref="SweepFile"/>) into one ordinary run folder
/// per point, runs the unfinished points (as child <c>workbench train</c> processes here, or as one Slurm job array),
/// and collects the points' results into a table, mean ± std per setting and a chart. Human-readable lines go to
/// stderr; each command ends with one JSON line on stdout.
/// </summary>
public static class SweepCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var cmd = new Command("sweep", "Run a grid of settings × seeds as ordinary runs, here or on a Slurm cluster, and report mean ± std.");
        cmd.Subcommands.Add(RunCommand(verbose));
        cmd.Subcommands.Add(StatusCommand(verbose));
        cmd.Subcommands.Add(ReportCommand(verbose));
        return cmd;
    }

    static Command RunCommand(Option<bool> verbose)
    {
        var file = new Argument<string>("file") { Description = "Sweep file (JSON; see README.md, \"Sweeps\")." };
        var output = new Option<string?>("--out") { Description = "Sweep folder (default runs/<sweep name>); one run folder per point inside." };
        var local = new Option<int?>("--local") { Description = "Run N points at once on this machine (default 1)." };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads per local point (default: cores / N)." };
        var slurm = new Option<bool>("--slurm") { Description = "Submit one Slurm job array (sbatch --array), one task per unfinished point." };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition (sbatch --partition)." };
        var time = new Option<string?>("--time") { Description = "Slurm time limit per task (sbatch --time), e.g. 02:00:00." };
        var gpus = new Option<string?>("--gpus") { Description = "GPUs per task (sbatch --gpus)." };
        var cpus = new Option<int>("--cpus-per-task") { Description = "Slurm CPUs (and libtorch threads) per task.", DefaultValueFactory = _ => 1 };
        var run = new Command("run", "Expand a sweep file into run folders and run (or submit) the unfinished points; finished ones are skipped, interrupted ones resume.")
        {
            file, output, local, threads, slurm, partition, time, gpus, cpus,
        };
        run.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var path = p.GetValue(file)!;
            var sweep = SweepFile.Load(path);
            var points = SweepExpansion.Expand(sweep, path);
            var dir = p.GetValue(output) ?? Path.Combine("runs", sweep.Name!);
            OutputPath.Check("--out", dir, isFolder: true);
            bool useSlurm = p.GetValue(slurm);
            if (useSlurm && p.GetValue(local) is not null) throw new UsageException("sweep run: choose --local N or --slurm, not both.");
            if (!useSlurm && (p.GetValue(partition) ?? p.GetValue(time) ?? p.GetValue(gpus)) is not null)
                throw new UsageException("sweep run: --partition, --time and --gpus are for --slurm.");
            int parallel = p.GetValue(local) ?? 1;
            if (parallel < 1) throw new UsageException("--local must be at least 1.");
            int perPoint = p.GetValue(threads) ?? Math.Max(1, Environment.ProcessorCount / parallel);
            if (perPoint < 1) throw new UsageException("--threads must be at least 1.");
            if (p.GetValue(cpus) < 1) throw new UsageException("--cpus-per-task must be at least 1.");

            SweepFolder.Record(dir, path, sweep, points);
            TaskScript.Write(dir, points);
            Console.Error.WriteLine($"sweep {sweep.Name}: {points.Count} points in {dir}");
            if (useSlurm)
            {
                var (job, array) = SlurmBackend.Submit(dir, points, new SlurmBackend.Options(p.GetValue(partition), p.GetValue(time), p.GetValue(gpus), p.GetValue(cpus)));
                Console.Error.WriteLine(job is null ? "sweep: every point is finished; nothing submitted"
                    : $"sweep: submitted Slurm job {job} (array {array}); follow it with `workbench sweep status {dir}`");
                CliOutput.WriteResult(new Dictionary<string, object?> { ["sweep"] = dir, ["points"] = points.Count, ["backend"] = "slurm", ["job_id"] = job, ["array"] = array });
                return 0;
            }
            var (started, interrupted) = LocalBackend.Run(dir, points, parallel, perPoint);
            var counts = Counts(dir, points);
            CliOutput.WriteResult(new Dictionary<string, object?> { ["sweep"] = dir, ["points"] = points.Count, ["backend"] = "local", ["started"] = started,
                ["done"] = counts[PointState.Done], ["failed"] = counts[PointState.Failed], ["pending"] = counts[PointState.Pending] + counts[PointState.Running] });
            int notDone = counts[PointState.Pending] + counts[PointState.Running];
            if (!interrupted && notDone > 0)
                Console.Error.WriteLine($"sweep: {notDone} point(s) not done ({counts[PointState.Running]} running elsewhere); run again or follow them with `workbench sweep status {dir}`");
            return interrupted ? 130 : counts[PointState.Failed] > 0 || notDone > 0 ? 1 : 0;   // 0: every point is done
        }));
        return run;
    }

    static Command StatusCommand(Option<bool> verbose)
    {
        var dir = new Argument<string>("dir") { Description = "Sweep folder." };
        var status = new Command("status", "Points done / running / failed / pending, and each point's state.") { dir };
        status.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var folder = p.GetValue(dir)!;
            var points = SweepFolder.ReadPoints(folder);
            var statuses = points.Select(pt => PointStatus.Read(folder, pt)).ToList();
            foreach (var s in statuses)
                Console.Error.WriteLine($"{s.State.ToString().ToLowerInvariant(),-8} {s.Point.Name}" +
                    (s.Step is long step ? $"  step {step}" : "") + (s.Message is null ? "" : $"  {s.Message}"));
            var counts = Counts(statuses);
            Console.Error.WriteLine(string.Join(", ", counts.Select(kv => $"{kv.Value} {kv.Key.ToString().ToLowerInvariant()}")));
            var result = new Dictionary<string, object?> { ["sweep"] = folder, ["points"] = points.Count };
            foreach (var (state, n) in counts) result[state.ToString().ToLowerInvariant()] = n;
            result["point_states"] = statuses.Select(s => new Dictionary<string, object?>
            {
                ["name"] = s.Point.Name, ["state"] = s.State.ToString().ToLowerInvariant(), ["step"] = s.Step, ["message"] = s.Message,
            }).ToList();
            CliOutput.WriteResult(result);
            return 0;
        }));
        return status;
    }

    static Command ReportCommand(Option<bool> verbose)
    {
        var dir = new Argument<string>("dir") { Description = "Sweep folder." };
        var metric = new Option<string?>("--metric") { Description = "Result field to chart (default: the first test_* field, e.g. test_bpd)." };
        var report = new Command("report", "Collect every point's result into report.csv, mean ± std per setting into summary.csv, and a chart into report.html.") { dir, metric };
        report.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var folder = p.GetValue(dir)!;
            var points = SweepFolder.ReadPoints(folder);
            var r = SweepReport.Build(folder, points, p.GetValue(metric));
            r.Save(folder, SweepFolder.ReadName(folder));
            var settings = new List<Dictionary<string, object?>>();
            for (long i = 0; i < r.Summary.Rows.Count; i++)
            {
                var row = new Dictionary<string, object?>
                {
                    ["setting"] = r.Summary.Columns["setting"][i], ["done"] = r.Summary.Columns["done"][i], ["failed"] = r.Summary.Columns["failed"][i],
                };
                if (r.Metric is not null)
                {
                    row["mean"] = r.Summary.Columns[$"{r.Metric}_mean"][i];
                    row["std"] = r.Summary.Columns[$"{r.Metric}_std"][i];
                }
                settings.Add(row);
                Console.Error.WriteLine($"{row["setting"],-40} {row["done"]} done, {row["failed"]} failed" +
                    (row.GetValueOrDefault("mean") is double m ? $"  {r.Metric} {m.ToString("F4", CultureInfo.InvariantCulture)}" +
                        (row["std"] is double sd ? $" ± {sd.ToString("F4", CultureInfo.InvariantCulture)}" : "") : ""));
            }
            CliOutput.WriteResult(new Dictionary<string, object?>
            {
                ["sweep"] = folder, ["csv"] = SweepReport.CsvPath(folder), ["summary"] = SweepReport.SummaryPath(folder),
                ["chart"] = r.Metric is null ? null : SweepReport.ChartPath(folder), ["metric"] = r.Metric, ["settings"] = settings,
            });
            return 0;
        }));
        return report;
    }

    static Dictionary<PointState, int> Counts(string dir, IReadOnlyList<SweepPoint> points) =>
        Counts(points.Select(p => PointStatus.Read(dir, p)).ToList());

    static Dictionary<PointState, int> Counts(IReadOnlyList<PointStatus> statuses) =>
        Enum.GetValues<PointState>().ToDictionary(s => s, s => statuses.Count(x => x.State == s));
}
