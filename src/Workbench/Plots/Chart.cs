using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Workbench.Plots;

/// <summary>
/// A plotly.js figure held as plain data (a <c>data</c> array of trace objects and a <c>layout</c> object, with
/// plotly.js's attribute names) that displays itself: in a notebook (text/html: a div and a script that draws it with
/// plotly.js, see <see cref="ToHtml()"/>), as a standalone HTML page, or as figure JSON. Build one with
/// <see cref="Charts"/>, or from trace and layout JSON with the constructor.
/// </summary>
[TypeFormatterSource(typeof(ChartFormatterSource), PreferredMimeTypes = new[] { "text/html" })]
public sealed class Chart
{
    /// <summary>The plotly.js release embedded in this library (<see cref="PlotlyJs"/>).</summary>
    public const string PlotlyJsVersion = "2.28.0";

    /// <summary>The same plotly.js release on its CDN, loaded by a page that has no plotly.js of its own.</summary>
    public const string PlotlyJsCdnUrl = "https://cdn.plot.ly/plotly-" + PlotlyJsVersion + ".min.js";

    /// <summary>The attribute that marks the script element carrying plotly.js inline (see <see cref="ToHtml()"/>).</summary>
    public const string PlotlyJsCarrierAttribute = "data-workbench-plotlyjs";

    readonly JsonArray _data;
    readonly JsonObject _layout;

    /// <summary>
    /// A chart of the given traces (plotly.js trace objects, e.g. <c>{"type": "scatter", "x": [...], "y": [...]}</c>)
    /// and layout; both are copied.
    /// </summary>
    public Chart(JsonArray data, JsonObject? layout = null)
        : this((JsonArray)(data ?? throw new ArgumentNullException(nameof(data))).DeepClone(),
            (JsonObject?)layout?.DeepClone() ?? new JsonObject(), copy: false)
    {
    }

    /// <summary>Takes the nodes as they are; only this library's builders, which hand over fresh nodes, use it.</summary>
    internal Chart(JsonArray data, JsonObject layout, bool copy)
    {
        _data = copy ? (JsonArray)data.DeepClone() : data;
        _layout = copy ? (JsonObject)layout.DeepClone() : layout;
        foreach (var trace in _data)
            if (trace is not JsonObject)
                throw new ArgumentException($"every trace must be a JSON object, not {trace?.GetValueKind().ToString() ?? "null"}", nameof(data));
    }

    /// <summary>The number of traces.</summary>
    public int TraceCount => _data.Count;

    /// <summary>The names of the traces, in order (null for unnamed traces).</summary>
    public IReadOnlyList<string?> TraceNames =>
        _data.Select(t => t?["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).ToList();

    /// <summary>The layout's title text, or null.</summary>
    public string? Title => _layout["title"] switch
    {
        JsonObject o when o["text"] is JsonValue v && v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => null,
    };

    /// <summary>A copy of the traces (plotly.js's <c>data</c>); changing it does not change the chart.</summary>
    public JsonArray CopyData() => (JsonArray)_data.DeepClone();

    /// <summary>A copy of the layout (plotly.js's <c>layout</c>); changing it does not change the chart.</summary>
    public JsonObject CopyLayout() => (JsonObject)_layout.DeepClone();

    /// <summary>
    /// The figure as JSON: <c>{"data": [...], "layout": {...}, "frames": []}</c>. Non-finite numbers are written as
    /// null; characters that matter to HTML (&lt;, &gt;, &amp;, quotes) are escaped, so the JSON can sit in a script element.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WritePropertyName("data");
            Write(w, _data);
            w.WritePropertyName("layout");
            Write(w, _layout);
            w.WritePropertyName("frames");
            w.WriteStartArray();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All) };

    static void Write(Utf8JsonWriter w, JsonNode? node)
    {
        switch (node)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (var (k, v) in o) { w.WritePropertyName(k); Write(w, v); }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (var v in a) Write(w, v);
                w.WriteEndArray();
                break;
            case JsonValue v when v.TryGetValue<double>(out var d) && !double.IsFinite(d):
            case JsonValue v2 when v2.TryGetValue<float>(out var f) && !float.IsFinite(f):
                w.WriteNullValue();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }

    static int _plotlyJsDelivered;

    /// <summary>
    /// The HTML a notebook shows (what the text/html formatter writes): <see cref="ToHtml(bool)"/>, carrying plotly.js
    /// inline for the first chart formatted this way in the process (or since <see cref="ResetPlotlyJsDelivery"/>),
    /// so a saved notebook draws its charts offline; later charts draw with that copy.
    /// </summary>
    public string ToHtml() => ToHtml(includePlotlyJs: Interlocked.Exchange(ref _plotlyJsDelivered, 1) == 0);

    /// <summary>
    /// Makes the next <see cref="ToHtml()"/> carry plotly.js again. A notebook runner calls it before each notebook,
    /// so every executed notebook holds its own copy.
    /// </summary>
    public static void ResetPlotlyJsDelivery() => Interlocked.Exchange(ref _plotlyJsDelivered, 0);

    /// <summary>
    /// An HTML fragment: with <paramref name="includePlotlyJs"/>, first <see cref="PlotlyJsScript"/>; then a div and a
    /// script that draws the figure into it. The script draws with <c>window.Plotly</c> when the page has it; else,
    /// where a plotly.js carrier exists in the page, waits for the carrier's promise (<c>window.__workbenchPlotly</c>)
    /// for up to 3 seconds; else (or when that wait runs out) loads plotly.js with RequireJS where the page has it
    /// (classic Jupyter), else with a script tag for <see cref="PlotlyJsCdnUrl"/> (added once per page).
    /// </summary>
    public string ToHtml(bool includePlotlyJs)
    {
        var id = "wb-chart-" + Guid.NewGuid().ToString("N");
        var cdn = PlotlyJsCdnUrl;
        var sb = new StringBuilder();
        if (includePlotlyJs) sb.Append(PlotlyJsScript()).Append('\n');
        sb.Append("<div id=\"").Append(id).Append("\" class=\"workbench-chart\"></div>\n");
        sb.Append("<script type=\"text/javascript\">\n(function () {\n");
        sb.Append("  var fig = ").Append(ToJson()).Append(";\n");
        sb.Append("  var draw = function (P) { P.newPlot('").Append(id).Append("', fig.data, fig.layout, Object.assign({responsive: true}, fig.config || {})); };\n");
        sb.Append("  if (window.Plotly) { draw(window.Plotly); return; }\n");
        sb.Append("  var fallback = function () {\n");
        sb.Append("    if (window.Plotly) { draw(window.Plotly); return; }\n");
        sb.Append("    if (typeof requirejs === 'function') {\n");
        sb.Append("      requirejs.config({paths: {plotly: '").Append(cdn[..^3]).Append("'}});\n");
        sb.Append("      requirejs(['plotly'], function (P) { window.Plotly = window.Plotly || P; draw(P); }); return;\n    }\n");
        sb.Append("    if (!window.__workbenchPlotlyCdn) window.__workbenchPlotlyCdn = new Promise(function (ok, fail) {\n");
        sb.Append("      var s = document.createElement('script'); s.src = '").Append(cdn).Append("';\n");
        sb.Append("      s.onload = function () { ok(window.Plotly); }; s.onerror = fail; document.head.appendChild(s); });\n");
        sb.Append("    window.__workbenchPlotlyCdn.then(draw);\n  };\n");
        sb.Append("  if (!window.__workbenchPlotly && !document.querySelector('script[").Append(PlotlyJsCarrierAttribute).Append("]')) { fallback(); return; }\n");
        sb.Append("  ").Append(PromiseJs).Append('\n');
        sb.Append("  var done = false;\n");
        sb.Append("  var once = function (f) { return function (P) { if (!done) { done = true; f(P); } }; };\n");
        sb.Append("  window.__workbenchPlotly.then(once(draw));\n");
        sb.Append("  setTimeout(once(fallback), 3000);\n");
        sb.Append("})();\n</script>");
        return sb.ToString();
    }

    /// <summary>Creates the page-level promise of plotly.js (<c>window.__workbenchPlotly</c>, with its resolve function) unless it exists.</summary>
    const string PromiseJs =
        "if (!window.__workbenchPlotly) { var wbResolve; window.__workbenchPlotly = new Promise(function (ok) { wbResolve = ok; }); window.__workbenchPlotly.resolve = wbResolve; }";

    /// <summary>
    /// A script element (marked with <see cref="PlotlyJsCarrierAttribute"/>) that carries <see cref="PlotlyJs"/>: it
    /// defines <c>window.Plotly</c> unless the page has it (hiding AMD/CommonJS loaders from plotly.js, so it becomes
    /// a global even under RequireJS), then resolves the page-level promise charts wait on.
    /// </summary>
    public static string PlotlyJsScript() => _plotlyJsScript.Value;

    static readonly Lazy<string> _plotlyJsScript = new(() =>
    {
        var sb = new StringBuilder(PlotlyJs.Length + 1000);
        sb.Append("<script type=\"text/javascript\" ").Append(PlotlyJsCarrierAttribute).Append("=\"").Append(PlotlyJsVersion).Append("\">\n");
        sb.Append("if (!window.Plotly) (function (define, module, exports) {\n");
        sb.Append(PlotlyJs.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase));
        sb.Append("\n}).call(window);\n(function () {\n  ").Append(PromiseJs).Append('\n');
        sb.Append("  if (window.Plotly) window.__workbenchPlotly.resolve(window.Plotly);\n})();\n</script>");
        return sb.ToString();
    });

    /// <summary>
    /// A complete HTML page. By default plotly.js (<see cref="PlotlyJs"/>) is embedded, so the page works offline;
    /// with <paramref name="embedPlotlyJs"/> false it loads plotly.js from the CDN.
    /// </summary>
    public string ToStandaloneHtml(bool embedPlotlyJs = true, string? pageTitle = null)
    {
        var head = embedPlotlyJs ? PlotlyJsScript() : $"<script src=\"{PlotlyJsCdnUrl}\" charset=\"utf-8\"></script>";
        return $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(pageTitle ?? "chart")}</title>{head}</head>\n<body>\n{ToHtml(includePlotlyJs: false)}\n</body></html>\n";
    }

    /// <summary>Writes <see cref="ToStandaloneHtml"/> to a file.</summary>
    public void SaveHtml(string path, bool embedPlotlyJs = true) =>
        File.WriteAllText(path, ToStandaloneHtml(embedPlotlyJs, Path.GetFileNameWithoutExtension(path)));

    /// <summary>The name of the embedded resource holding plotly.min.js.</summary>
    internal const string PlotlyJsResource = "Workbench.Plots.plotly.min.js";

    static readonly Lazy<string> _plotlyJs = new(() =>
    {
        using var stream = typeof(Chart).Assembly.GetManifestResourceStream(PlotlyJsResource)
                           ?? throw new InvalidOperationException($"{PlotlyJsResource} is not embedded in {typeof(Chart).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>
    /// The text of plotly.min.js (release <see cref="PlotlyJsVersion"/>), embedded in this library, for pages that
    /// must work offline: put it in a script tag once, before any chart's HTML.
    /// </summary>
    public static string PlotlyJs => _plotlyJs.Value;

    /// <summary>Overlays charts in one plot: their traces in order, with the first chart's layout.</summary>
    public static Chart Combine(params Chart[] charts)
    {
        ArgumentNullException.ThrowIfNull(charts);
        if (charts.Length == 0) throw new ArgumentException("no charts to combine", nameof(charts));
        if (charts.Any(c => c is null)) throw new ArgumentException("a chart is null", nameof(charts));
        var data = new JsonArray(charts.SelectMany(c => c._data).Select(t => t!.DeepClone()).ToArray());
        return new Chart(data, charts[0].CopyLayout(), copy: false);
    }

    public override string ToString() => TraceCount == 0
        ? $"Chart(no traces{(Title is { } t ? ": " + t : "")})"
        : $"Chart({string.Join(", ", TraceNames.Select(n => n ?? "unnamed"))})";
}

/// <summary>Formatters for <see cref="Chart"/>: text/html (<see cref="Chart.ToHtml()"/>) and text/plain.</summary>
public sealed class ChartFormatterSource
{
    public IEnumerable<object> CreateTypeFormatters() => new object[]
    {
        new MimeFormatter<Chart>("text/html", (c, w) => w.Write(c.ToHtml())),
        new MimeFormatter<Chart>("text/plain", (c, w) => w.Write(c.ToString())),
    };
}
