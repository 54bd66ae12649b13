using Plotly.NET;

namespace Workbench.Plots;

/// <summary>
/// Builds Plotly.NET charts from plotly.js attribute names (the names in plotly.js's reference, which is also what
/// a PyTorch user knows from Python's plotly). Plotly.NET's F# builders take dozens of positional options from C#;
/// traces and layouts are dynamic objects, so setting the attributes directly keeps our builders short.
/// </summary>
internal static class Figures
{
    public static Trace Trace(string type, params (string Key, object? Value)[] props)
    {
        var t = new Trace2D(type);
        foreach (var (k, v) in props) if (v is not null) t.SetProperty(k, v);
        return t;
    }

    public static Dictionary<string, object> Obj(params (string Key, object? Value)[] props)
    {
        var d = new Dictionary<string, object>();
        foreach (var (k, v) in props) if (v is not null) d[k] = v;
        return d;
    }

    public static Dictionary<string, object>? Title(string? text) => text is null ? null : Obj(("text", text));

    public static Dictionary<string, object> Axis(string? title, bool log = false, object? extra = null)
    {
        var a = Obj(("title", Title(title)), ("type", log ? "log" : null));
        if (extra is Dictionary<string, object> e) foreach (var (k, v) in e) a[k] = v;
        return a;
    }

    public static Chart Build(IEnumerable<Trace> traces, string? title, Dictionary<string, object>? xaxis,
        Dictionary<string, object>? yaxis, int? height = null, int? width = null, params (string Key, object? Value)[] layoutExtra)
    {
        var list = traces.ToList();
        var chart = list.Count == 1
            ? GenericChart.ofTraceObject(false, list[0])
            : GenericChart.combine(list.Select(t => GenericChart.ofTraceObject(false, t)));
        var layout = new Layout();
        if (title is not null) layout.SetProperty("title", Obj(("text", title)));
        if (xaxis is not null) layout.SetProperty("xaxis", xaxis);
        if (yaxis is not null) layout.SetProperty("yaxis", yaxis);
        layout.SetProperty("height", height ?? 420);
        if (width is not null) layout.SetProperty("width", width.Value);
        layout.SetProperty("margin", Obj(("l", 60), ("r", 20), ("t", title is null ? 20 : 50), ("b", 50)));
        foreach (var (k, v) in layoutExtra) if (v is not null) layout.SetProperty(k, v);
        return new Chart(GenericChart.setLayout(layout, chart));
    }

    /// <summary>Non-finite values become null, which plotly.js draws as gaps (JSON has no NaN or infinities).</summary>
    public static double?[] Clean(IEnumerable<double> values) => values.Select(v => double.IsFinite(v) ? v : (double?)null).ToArray();

    public static string Shape<T>(T[,] a) => $"[{a.GetLength(0)}, {a.GetLength(1)}]";
}
