using System.Text.Json.Nodes;
using Workbench.Training;

namespace Workbench.Plots;

/// <summary>One line of a chart: a name and its points.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// Chart builders for training and evaluation: metric curves with smoothing (<see cref="Curves(TrainingLog, string[])"/>),
/// run comparisons, heatmaps of per-level values over steps (NVAE's KL per group), bar charts, and 2-D toy
/// densities and samples. Each returns a <see cref="Chart"/> that displays itself in a notebook.
/// </summary>
public static partial class Charts
{
    /// <summary>Curves of the named metrics of a training log against the step (all metrics when none are named).</summary>
    public static Chart Curves(TrainingLog log, params string[] metrics) => Curves(log, metrics, smoothing: 0);

    /// <summary>One metric's curve with options: <c>Charts.Curves(log, "loss", smoothing: 0.9, logY: true)</c>.</summary>
    public static Chart Curves(TrainingLog log, string metric, double smoothing = 0, bool logY = false,
        string? title = null, string xLabel = "step", string? yLabel = null) =>
        Curves(log, new[] { metric }, smoothing, logY, title, xLabel, yLabel);

    /// <summary>
    /// Curves of the named metrics against the step. <paramref name="smoothing"/> in [0, 1) is TensorBoard's
    /// exponential moving average (debiased); when positive the raw values are drawn faintly behind the smoothed line.
    /// </summary>
    public static Chart Curves(TrainingLog log, string[] metrics, double smoothing, bool logY = false,
        string? title = null, string xLabel = "step", string? yLabel = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (metrics is null || metrics.Length == 0) metrics = log.MetricNames.ToArray();
        if (metrics.Length == 0) throw new ArgumentException("the training log has no metrics yet", nameof(log));
        var series = metrics.Select(m =>
        {
            var (steps, values) = log.Series(m);
            return new Series(m, steps.Select(s => (double)s).ToArray(), values);
        }).ToArray();
        return Lines(series, smoothing, logY, title, xLabel, yLabel ?? (metrics.Length == 1 ? metrics[0] : null));
    }

    /// <summary>One metric from several runs (e.g. an ablation: <c>{ ["affine"] = logA, ["additive"] = logB }</c>).</summary>
    public static Chart Compare(IReadOnlyDictionary<string, TrainingLog> runs, string metric, double smoothing = 0,
        bool logY = false, string? title = null, string xLabel = "step")
    {
        ArgumentNullException.ThrowIfNull(runs);
        var series = runs.Select(kv =>
        {
            var (steps, values) = kv.Value.Series(metric);
            return new Series(kv.Key, steps.Select(s => (double)s).ToArray(), values);
        }).ToArray();
        return Lines(series, smoothing, logY, title ?? metric, xLabel, metric);
    }

    /// <summary>Line chart of any series, with the same smoothing and log-y options as <see cref="Curves(TrainingLog, string[])"/>.</summary>
    public static Chart Lines(IReadOnlyList<Series> series, double smoothing = 0, bool logY = false,
        string? title = null, string? xLabel = null, string? yLabel = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("no series to draw", nameof(series));
        if (smoothing is < 0 or >= 1 || double.IsNaN(smoothing))
            throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "smoothing must be in [0, 1)");
        var traces = new List<JsonObject>();
        var palette = Palette;
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.X.Count != s.Y.Count)
                throw new ArgumentException($"series '{s.Name}': {s.X.Count} x values but {s.Y.Count} y values", nameof(series));
            var color = palette[i % palette.Length];
            var x = s.X.ToArray();
            var y = s.Y.ToArray();
            if (smoothing > 0)
            {
                traces.Add(Figures.Trace("scatter", ("x", x), ("y", Figures.Clean(y)), ("mode", "lines"), ("name", s.Name + " (raw)"),
                    ("legendgroup", s.Name), ("showlegend", false), ("opacity", 0.25), ("line", Figures.Obj(("color", color), ("width", 1))),
                    ("hoverinfo", "skip")));
                y = Smooth(y, smoothing);
            }
            traces.Add(Figures.Trace("scatter", ("x", x), ("y", Figures.Clean(y)), ("mode", "lines"), ("name", s.Name),
                ("legendgroup", s.Name), ("line", Figures.Obj(("color", color), ("width", 2)))));
        }
        return Figures.Build(traces, title, Figures.Axis(xLabel), Figures.Axis(yLabel, logY));
    }

    /// <summary>
    /// TensorBoard's smoothing: an exponential moving average with weight <paramref name="factor"/> on the past,
    /// debiased so the first values are not pulled towards zero. Non-finite values are passed through and skipped.
    /// </summary>
    public static double[] Smooth(IReadOnlyList<double> values, double factor)
    {
        if (factor is < 0 or >= 1 || double.IsNaN(factor))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "smoothing must be in [0, 1)");
        var result = new double[values.Count];
        double ema = 0, weight = 0;
        for (int i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (!double.IsFinite(v)) { result[i] = v; continue; }
            ema = factor * ema + (1 - factor) * v;
            weight = factor * weight + (1 - factor);
            result[i] = ema / weight;
        }
        return result;
    }

    /// <summary>
    /// A heatmap of per-row values over columns, e.g. NVAE's KL per latent group (rows) over training steps
    /// (columns). <paramref name="values"/> is [rows, columns].
    /// </summary>
    public static Chart Heatmap(IReadOnlyList<string> rowLabels, IReadOnlyList<double> columns, double[,] values,
        string? title = null, string xLabel = "step", string? yLabel = null, string colorScale = "Viridis", string? colorBarTitle = null)
    {
        ArgumentNullException.ThrowIfNull(rowLabels);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(values);
        if (values.GetLength(0) != rowLabels.Count || values.GetLength(1) != columns.Count)
            throw new ArgumentException(
                $"values has shape {Figures.Shape(values)} but there are {rowLabels.Count} row labels and {columns.Count} columns " +
                $"(expected [{rowLabels.Count}, {columns.Count}])", nameof(values));
        var z = Enumerable.Range(0, values.GetLength(0))
            .Select(r => Figures.Clean(Enumerable.Range(0, values.GetLength(1)).Select(c => values[r, c]))).ToArray();
        var trace = Figures.Trace("heatmap", ("z", z), ("x", columns.ToArray()), ("y", rowLabels.ToArray()),
            ("colorscale", colorScale), ("colorbar", colorBarTitle is null ? null : Figures.Obj(("title", Figures.Title(colorBarTitle)))));
        return Figures.Build(new[] { trace }, title, Figures.Axis(xLabel), Figures.Axis(yLabel, extra: Figures.Obj(("type", "category"))));
    }

    /// <summary>
    /// A heatmap from a training log: each named metric is a row (e.g. <c>kl/0 … kl/9</c>), each logged step a column.
    /// Steps where a metric was not logged are left empty.
    /// </summary>
    public static Chart Heatmap(TrainingLog log, IReadOnlyList<string> metrics, IReadOnlyList<string>? rowLabels = null,
        string? title = null, string? colorBarTitle = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (metrics is null || metrics.Count == 0) throw new ArgumentException("name at least one metric", nameof(metrics));
        if (rowLabels is not null && rowLabels.Count != metrics.Count)
            throw new ArgumentException($"{rowLabels.Count} row labels for {metrics.Count} metrics", nameof(rowLabels));
        var series = metrics.Select(m => log.Series(m)).ToArray();
        var steps = series.SelectMany(s => s.Steps).Distinct().Order().ToArray();
        var index = steps.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i);
        var values = new double[metrics.Count, steps.Length];
        for (int r = 0; r < metrics.Count; r++)
        {
            for (int c = 0; c < steps.Length; c++) values[r, c] = double.NaN;
            for (int j = 0; j < series[r].Steps.Length; j++) values[r, index[series[r].Steps[j]]] = series[r].Values[j];
        }
        return Heatmap(rowLabels ?? metrics, steps.Select(s => (double)s).ToArray(), values, title, colorBarTitle: colorBarTitle);
    }

    /// <summary>A bar chart of one value per label (e.g. active latent units per level, bits/dim per model).</summary>
    public static Chart Bars(IReadOnlyList<string> labels, IReadOnlyList<double> values, string? title = null,
        string? yLabel = null, bool logY = false, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(values);
        if (labels.Count != values.Count)
            throw new ArgumentException($"{labels.Count} labels but {values.Count} values", nameof(values));
        var trace = Figures.Trace("bar", ("x", labels.ToArray()), ("y", Figures.Clean(values)), ("name", name ?? yLabel ?? "value"),
            ("marker", Figures.Obj(("color", Palette[0]))));
        return Figures.Build(new[] { trace }, title, Figures.Axis(null, extra: Figures.Obj(("type", "category"))), Figures.Axis(yLabel, logY));
    }

    /// <summary>Grouped bars: one bar per group for each label (e.g. bits/dim of several configs on train and test).</summary>
    public static Chart Bars(IReadOnlyList<string> labels, IReadOnlyDictionary<string, IReadOnlyList<double>> groups,
        string? title = null, string? yLabel = null, bool logY = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(groups);
        var traces = new List<JsonObject>();
        int i = 0;
        foreach (var (name, vals) in groups)
        {
            if (vals.Count != labels.Count)
                throw new ArgumentException($"group '{name}' has {vals.Count} values for {labels.Count} labels", nameof(groups));
            traces.Add(Figures.Trace("bar", ("x", labels.ToArray()), ("y", Figures.Clean(vals)), ("name", name),
                ("marker", Figures.Obj(("color", Palette[i++ % Palette.Length])))));
        }
        return Figures.Build(traces, title, Figures.Axis(null, extra: Figures.Obj(("type", "category"))), Figures.Axis(yLabel, logY),
            layoutExtra: ("barmode", "group"));
    }

    /// <summary>Plotly's default qualitative colours.</summary>
    internal static readonly string[] Palette =
        { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
}
