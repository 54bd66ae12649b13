using System.Collections;
using System.Text.Json.Nodes;

namespace Workbench.Plots;

/// <summary>
/// Builds plotly.js figures as JSON nodes from plotly.js attribute names (the names in plotly.js's reference, which
/// is also what a PyTorch user knows from Python's plotly). Null values leave an attribute out; non-finite numbers
/// become null, which plotly.js draws as gaps.
/// </summary>
internal static class Figures
{
    /// <summary>A trace object: <c>{"type": type, ...props}</c>.</summary>
    public static JsonObject Trace(string type, params (string Key, object? Value)[] props)
    {
        var t = new JsonObject { ["type"] = type };
        Set(t, props);
        return t;
    }

    /// <summary>A JSON object of the non-null properties.</summary>
    public static JsonObject Obj(params (string Key, object? Value)[] props)
    {
        var o = new JsonObject();
        Set(o, props);
        return o;
    }

    static void Set(JsonObject o, (string Key, object? Value)[] props)
    {
        foreach (var (k, v) in props) if (v is not null) o[k] = Node(v);
    }

    /// <summary>
    /// A value as a JSON node: strings, booleans and numbers as values (non-finite doubles as null), sequences as
    /// arrays (element by element, so arrays of arrays become nested arrays), nodes as they are.
    /// </summary>
    public static JsonNode? Node(object? value) => value switch
    {
        null => null,
        JsonNode n => n,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : null,
        float f => float.IsFinite(f) ? JsonValue.Create(f) : null,
        IEnumerable e => new JsonArray(e.Cast<object?>().Select(Node).ToArray()),
        _ => throw new ArgumentException($"no JSON form for {value.GetType()}", nameof(value)),
    };

    public static JsonObject? Title(string? text) => text is null ? null : Obj(("text", text));

    /// <summary>An axis: its title, <c>type: "log"</c> when <paramref name="log"/>, then the properties of <paramref name="extra"/>.</summary>
    public static JsonObject Axis(string? title, bool log = false, JsonObject? extra = null)
    {
        var a = Obj(("title", Title(title)), ("type", log ? "log" : null));
        if (extra is not null)
            foreach (var key in extra.Select(p => p.Key).ToList())
            {
                var v = extra[key];
                extra.Remove(key);
                a[key] = v;
            }
        return a;
    }

    /// <summary>
    /// A chart of the traces with the shared layout: optional title, the axes, height (420 unless given), optional
    /// width, margins (more room at the top for a title), then <paramref name="layoutExtra"/>.
    /// </summary>
    public static Chart Build(IEnumerable<JsonObject> traces, string? title, JsonObject? xaxis,
        JsonObject? yaxis, int? height = null, int? width = null, params (string Key, object? Value)[] layoutExtra)
    {
        var data = new JsonArray(traces.Cast<JsonNode?>().ToArray());
        var layout = Obj(("title", Title(title)), ("xaxis", xaxis), ("yaxis", yaxis), ("height", height ?? 420), ("width", width),
            ("margin", Obj(("l", 60), ("r", 20), ("t", title is null ? 20 : 50), ("b", 50))));
        Set(layout, layoutExtra);
        return new Chart(data, layout, copy: false);
    }

    /// <summary>Non-finite values become null, which plotly.js draws as gaps (JSON has no NaN or infinities).</summary>
    public static double?[] Clean(IEnumerable<double> values) => values.Select(v => double.IsFinite(v) ? v : (double?)null).ToArray();

    public static string Shape<T>(T[,] a) => $"[{a.GetLength(0)}, {a.GetLength(1)}]";
}
