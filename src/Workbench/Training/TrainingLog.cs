using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Analysis;

namespace Workbench.Training;

/// <summary>
/// The training log: one row per logged step with the wall time since the log started and any named metrics
/// (a metric missing from a row is null there). <see cref="ToDataFrame"/> gives a Microsoft.Data.Analysis
/// DataFrame for notebooks; <see cref="SaveCsv"/> writes it for the command line.
/// </summary>
public sealed class TrainingLog
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly double _timeOffset;
    readonly List<long> _steps = new();
    readonly List<double> _times = new();
    readonly Dictionary<string, List<double?>> _metrics = new();
    readonly List<string> _order = new();

    /// <param name="elapsedSeconds">Wall time already spent (when a resumed run continues an older log).</param>
    public TrainingLog(double elapsedSeconds = 0) => _timeOffset = elapsedSeconds;

    public int Count => _steps.Count;

    /// <summary>The step of the last row (0 before the first), e.g. for a progress bar fed from a log callback.</summary>
    public long LastStep => _steps.Count == 0 ? 0 : _steps[^1];
    public IReadOnlyList<string> MetricNames => _order;
    public double ElapsedSeconds => _timeOffset + _clock.Elapsed.TotalSeconds;

    /// <summary>Appends a row: <c>log.Add(step, ("loss", 1.2), ("bpd", 3.4))</c>.</summary>
    public void Add(long step, params (string Name, double Value)[] metrics)
    {
        _steps.Add(step);
        _times.Add(ElapsedSeconds);
        foreach (var (name, _) in metrics)
            if (!_metrics.ContainsKey(name))
            {
                _metrics[name] = Enumerable.Repeat<double?>(null, _steps.Count - 1).ToList();
                _order.Add(name);
            }
        foreach (var list in _metrics.Values) list.Add(null);
        foreach (var (name, value) in metrics) _metrics[name][^1] = value;
    }

    /// <summary>The non-null values of one metric with their steps.</summary>
    public (long[] Steps, double[] Values) Series(string name)
    {
        if (!_metrics.TryGetValue(name, out var values))
            throw new KeyNotFoundException($"No metric '{name}' in the log; it has: {string.Join(", ", _order)}");
        var s = new List<long>();
        var v = new List<double>();
        for (int i = 0; i < values.Count; i++)
            if (values[i] is double d) { s.Add(_steps[i]); v.Add(d); }
        return (s.ToArray(), v.ToArray());
    }

    /// <summary>The rows from index <paramref name="first"/> on: each row's step and the metrics it holds.</summary>
    public IEnumerable<(long Step, (string Name, double Value)[] Metrics)> RowsFrom(int first)
    {
        for (int i = first; i < _steps.Count; i++)
            yield return (_steps[i], _order.Where(n => _metrics[n][i].HasValue).Select(n => (n, _metrics[n][i]!.Value)).ToArray());
    }

    /// <summary>The latest value of a metric, or null when it was never logged.</summary>
    public double? Last(string name) =>
        _metrics.TryGetValue(name, out var values) ? values.LastOrDefault(x => x.HasValue) : null;

    public DataFrame ToDataFrame()
    {
        var columns = new List<DataFrameColumn>
        {
            new Int64DataFrameColumn("step", _steps),
            new DoubleDataFrameColumn("seconds", _times),
        };
        columns.AddRange(_order.Select(name => (DataFrameColumn)new DoubleDataFrameColumn(name, _metrics[name])));
        return new DataFrame(columns);
    }

    /// <summary>Writes the log as CSV (invariant culture, empty cells for missing values), atomically.</summary>
    public void SaveCsv(string path)
    {
        var tmp = path + ".tmp";
        using (var w = new StreamWriter(tmp))
        {
            w.WriteLine(Header());
            for (int i = 0; i < _steps.Count; i++) w.WriteLine(Row(i));
        }
        File.Move(tmp, path, overwrite: true);
        _appendedPath = Path.GetFullPath(path);
        _appendedRows = _steps.Count;
        _appendedHeader = Header();
    }

    string? _appendedPath, _appendedHeader;
    int _appendedRows;

    /// <summary>
    /// Brings the CSV at <paramref name="path"/> up to date as rows are added: appends the rows added since the last
    /// call, or, when the columns changed (a new metric) or the file is not the one this log last wrote, rewrites it
    /// whole with <see cref="SaveCsv"/>. Rows reach the OS before this returns (a killed process loses none), and the
    /// disk too with <paramref name="flushToDisk"/> (call it so before writing a checkpoint, so the log on disk never
    /// lags the checkpoint).
    /// </summary>
    public void AppendCsv(string path, bool flushToDisk = false)
    {
        if (_appendedPath != Path.GetFullPath(path) || _appendedHeader != Header() || !File.Exists(path))
        {
            SaveCsv(path);
            if (!flushToDisk) return;
        }
        using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        using (var w = new StreamWriter(fs, leaveOpen: true))
            for (int i = _appendedRows; i < _steps.Count; i++) w.WriteLine(Row(i));
        fs.Flush(flushToDisk);
        _appendedRows = _steps.Count;
    }

    string Header() => string.Join(",", new[] { "step", "seconds" }.Concat(_order));

    string Row(int i)
    {
        var cells = new List<string> { _steps[i].ToString(CultureInfo.InvariantCulture), _times[i].ToString("R", CultureInfo.InvariantCulture) };
        cells.AddRange(_order.Select(n => _metrics[n][i]?.ToString("R", CultureInfo.InvariantCulture) ?? ""));
        return string.Join(",", cells);
    }

    /// <summary>
    /// Reads a log written by <see cref="SaveCsv"/> (for resuming, or plotting a command-line run in a notebook);
    /// with <paramref name="upToStep"/>, only the rows up to that step (a resumed run drops the rows after its checkpoint).
    /// </summary>
    public static TrainingLog LoadCsv(string path, long? upToStep = null)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || !lines[0].StartsWith("step,seconds"))
            throw new InvalidDataException($"{path}: not a training log (expected a 'step,seconds,…' header)");
        var names = lines[0].Split(',').Skip(2).ToArray();
        var rows = new List<string[]>();
        foreach (var (line, number) in lines.Select((l, i) => (l, i + 1)).Skip(1).Where(x => x.l.Length > 0))
        {
            var cells = line.Split(',');
            if (!long.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step)
                || cells.Length < 2 || !double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                throw new InvalidDataException($"{path}:{number}: not a log row (step, seconds, metrics…)");
            if (upToStep is long last && step > last) continue;
            rows.Add(cells);
        }
        // The clock continues from the last logged time, so a resumed run's wall time adds up.
        double lastTime = rows.Count == 0 ? 0 : double.Parse(rows[^1][1], CultureInfo.InvariantCulture);
        var log = new TrainingLog(lastTime);
        foreach (var cells in rows)
        {
            log._steps.Add(long.Parse(cells[0], CultureInfo.InvariantCulture));
            log._times.Add(double.Parse(cells[1], CultureInfo.InvariantCulture));
            for (int j = 0; j < names.Length; j++)
            {
                if (!log._metrics.ContainsKey(names[j])) { log._metrics[names[j]] = new(); log._order.Add(names[j]); }
                var c = j + 2 < cells.Length ? cells[j + 2] : "";
                log._metrics[names[j]].Add(c.Length == 0 ? null : double.Parse(c, CultureInfo.InvariantCulture));
            }
        }
        return log;
    }
}
