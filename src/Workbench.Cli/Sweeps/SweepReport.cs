using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Analysis;
using Workbench.Plots;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// Collects a sweep's results: every point's final JSON line (<c>result.json</c>) as one row of a DataFrame
/// (point, setting, seed, state, message, one column per grid axis, one per numeric result field), written as
/// <c>report.csv</c>; mean and sample standard deviation over the finished seeds of each setting, written as
/// <c>summary.csv</c> (columns <c>METRIC_mean</c>, <c>METRIC_std</c>); and a bar chart of one metric's means with
/// ± std error bars, written as <c>report.html</c>. Both CSVs load back with <c>DataFrame.LoadCsv</c>.
/// </summary>
public sealed class SweepReport
{
    public required DataFrame Points { get; init; }
    public required DataFrame Summary { get; init; }
    public required IReadOnlyList<string> Metrics { get; init; }
    /// <summary>The metric charted (and printed): <c>--metric</c>, else the first result field starting with <c>test_</c>.</summary>
    public required string? Metric { get; init; }

    public static string CsvPath(string dir) => Path.Combine(dir, "report.csv");
    public static string SummaryPath(string dir) => Path.Combine(dir, "summary.csv");
    public static string ChartPath(string dir) => Path.Combine(dir, "report.html");

    public static SweepReport Build(string dir, IReadOnlyList<SweepPoint> points, string? metric)
    {
        var statuses = points.Select(p => PointStatus.Read(dir, p)).ToList();
        var results = new Dictionary<SweepPoint, Dictionary<string, double>>();
        var metrics = new List<string>();
        foreach (var s in statuses.Where(s => s.State == PointState.Done))
        {
            var path = Path.Combine(SweepFolder.PointDir(dir, s.Point), TaskScript.ResultFile);
            var values = new Dictionary<string, double>();
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(path));
                foreach (var prop in doc.RootElement.EnumerateObject())
                    if (prop.Value.ValueKind == JsonValueKind.Number)
                    {
                        values[prop.Name] = prop.Value.GetDouble();
                        if (!metrics.Contains(prop.Name)) metrics.Add(prop.Name);
                    }
            }
            catch (JsonException e) { throw new InvalidDataException($"{path}: not train's JSON result line ({e.Message.ReplaceLineEndings(" ")})"); }
            results[s.Point] = values;
        }
        if (metric is not null && results.Count > 0 && !metrics.Contains(metric))
            throw new UsageException($"--metric {metric}: the results have {string.Join(", ", metrics)}.");
        metric ??= metrics.FirstOrDefault(m => m.StartsWith("test_", StringComparison.Ordinal)) ?? metrics.FirstOrDefault();

        var axes = points.SelectMany(p => p.Values.Keys).Distinct().ToList();
        var columns = new List<DataFrameColumn>
        {
            new StringDataFrameColumn("point", statuses.Select(s => s.Point.Name)),
            new StringDataFrameColumn("setting", statuses.Select(s => s.Point.Setting)),
            new Int64DataFrameColumn("seed", statuses.Select(s => s.Point.Seed)),
            new StringDataFrameColumn("state", statuses.Select(s => s.State.ToString().ToLowerInvariant())),
            new StringDataFrameColumn("message", statuses.Select(s => s.Message ?? "")),
        };
        columns.AddRange(axes.Select(a => new StringDataFrameColumn(a, statuses.Select(s => s.Point.Values.GetValueOrDefault(a, "")))));
        columns.AddRange(metrics.Select(m => new DoubleDataFrameColumn(m,
            statuses.Select(s => results.TryGetValue(s.Point, out var r) && r.TryGetValue(m, out var v) ? v : (double?)null))));

        var settings = points.Select(p => p.Setting).Distinct().ToList();
        var summary = new List<DataFrameColumn>
        {
            new StringDataFrameColumn("setting", settings),
            new Int32DataFrameColumn("done", settings.Select(t => statuses.Count(s => s.Point.Setting == t && s.State == PointState.Done))),
            new Int32DataFrameColumn("failed", settings.Select(t => statuses.Count(s => s.Point.Setting == t && s.State == PointState.Failed))),
        };
        summary.AddRange(axes.Select(a => new StringDataFrameColumn(a, settings.Select(t => points.First(p => p.Setting == t).Values.GetValueOrDefault(a, "")))));
        foreach (var m in metrics)
        {
            var stats = settings.Select(t => MeanStd(results.Where(r => r.Key.Setting == t && r.Value.ContainsKey(m)).Select(r => r.Value[m]).ToList())).ToList();
            summary.Add(new DoubleDataFrameColumn($"{m}_mean", stats.Select(x => x.Mean)));
            summary.Add(new DoubleDataFrameColumn($"{m}_std", stats.Select(x => x.Std)));
        }
        return new SweepReport { Points = new DataFrame(columns), Summary = new DataFrame(summary), Metrics = metrics, Metric = metric };
    }

    /// <summary>Mean and sample standard deviation (n − 1); null for no values, std null for one value.</summary>
    public static (double? Mean, double? Std) MeanStd(IReadOnlyList<double> v)
    {
        if (v.Count == 0) return (null, null);
        double mean = v.Average();
        return (mean, v.Count < 2 ? null : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)));
    }

    /// <summary>Writes report.csv, summary.csv and (when there is a metric) report.html into the sweep folder.</summary>
    public void Save(string dir, string sweepName)
    {
        Write(Points, CsvPath(dir));
        Write(Summary, SummaryPath(dir));
        if (Metric is null) return;
        var labels = Summary.Columns["setting"].Cast<string>().Select(s => s.Length == 0 ? "(base)" : s).ToList();
        double Get(string column, long row) => Summary.Columns[column][row] is double d ? d : double.NaN;
        var means = Enumerable.Range(0, labels.Count).Select(i => Get($"{Metric}_mean", i)).ToList();
        var stds = Enumerable.Range(0, labels.Count).Select(i => Get($"{Metric}_std", i)).ToList();
        Charts.BarsWithErrors(labels, means, stds, $"{sweepName}: {Metric}, mean ± std over seeds", Metric, zoom: true)
            .SaveHtml(ChartPath(dir));
    }

    static void Write(DataFrame frame, string path)
    {
        DataFrame.SaveCsv(frame, path + ".tmp", cultureInfo: CultureInfo.InvariantCulture);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
