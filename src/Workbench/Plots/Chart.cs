using System.Net;
using System.Text;
using Plotly.NET;

namespace Workbench.Plots;

/// <summary>
/// A Plotly chart that displays itself: in a notebook (text/html: a div and a script that draws it with plotly.js,
/// loading plotly.js from its CDN unless the page already has it, so the headless runner's report can embed
/// plotly.js once), as a standalone HTML page, or as Plotly figure JSON. Wraps a Plotly.NET
/// <see cref="GenericChart"/> (<see cref="Figure"/>), so anything Plotly.NET can do to a chart still applies.
/// Build one with <see cref="Charts"/>.
/// </summary>
[TypeFormatterSource(typeof(ChartFormatterSource), PreferredMimeTypes = new[] { "text/html" })]
public sealed class Chart
{
    /// <summary>The plotly.js release Plotly.NET 6.0.0 targets, loaded from the CDN when a page lacks plotly.js.</summary>
    public const string PlotlyJsCdnUrl = "https://cdn.plot.ly/plotly-2.28.0.min.js";

    public Chart(GenericChart figure) => Figure = figure ?? throw new ArgumentNullException(nameof(figure));

    /// <summary>The Plotly.NET chart behind this one.</summary>
    public GenericChart Figure { get; }

    /// <summary>The names of the traces, in order (null for unnamed traces).</summary>
    public IReadOnlyList<string?> TraceNames =>
        GenericChart.getTraces(Figure).Select(t => t.TryGetPropertyValue("name") is { } o ? o.Value as string : null).ToList();

    /// <summary>The Plotly figure as JSON: <c>{"data": [...], "layout": {...}, "frames": []}</c>.</summary>
    public string ToJson() => GenericChart.toFigureJson(Figure);

    /// <summary>
    /// An HTML fragment (div + script) for notebooks and reports. The script uses <c>window.Plotly</c> when the page
    /// has it, else RequireJS where present (classic Jupyter), else adds a script tag for <see cref="PlotlyJsCdnUrl"/>.
    /// </summary>
    public string ToHtml()
    {
        var id = "wb-chart-" + Guid.NewGuid().ToString("N");
        var cdn = PlotlyJsCdnUrl;
        var cdnNoExt = cdn[..^3];
        var sb = new StringBuilder();
        sb.Append("<div id=\"").Append(id).Append("\" class=\"workbench-chart\"></div>\n");
        sb.Append("<script type=\"text/javascript\">\n(function () {\n");
        sb.Append("  var fig = ").Append(ToJson().Replace("</", "<\\/")).Append(";\n");
        sb.Append("  var draw = function (P) { P.newPlot('").Append(id).Append("', fig.data, fig.layout, Object.assign({responsive: true}, fig.config || {})); };\n");
        sb.Append("  if (window.Plotly) { draw(window.Plotly); return; }\n");
        sb.Append("  if (typeof requirejs === 'function') {\n");
        sb.Append("    requirejs.config({paths: {plotly: '").Append(cdnNoExt).Append("'}});\n");
        sb.Append("    requirejs(['plotly'], function (P) { window.Plotly = window.Plotly || P; draw(P); }); return;\n  }\n");
        sb.Append("  if (!window.__workbenchPlotly) window.__workbenchPlotly = new Promise(function (ok, fail) {\n");
        sb.Append("    var s = document.createElement('script'); s.src = '").Append(cdn).Append("';\n");
        sb.Append("    s.onload = function () { ok(window.Plotly); }; s.onerror = fail; document.head.appendChild(s); });\n");
        sb.Append("  window.__workbenchPlotly.then(draw);\n})();\n</script>");
        return sb.ToString();
    }

    /// <summary>
    /// A complete HTML page. By default plotly.js (the copy Plotly.NET ships, <see cref="PlotlyJs"/>) is embedded, so
    /// the page works offline; with <paramref name="embedPlotlyJs"/> false it loads plotly.js from the CDN.
    /// </summary>
    public string ToStandaloneHtml(bool embedPlotlyJs = true, string? pageTitle = null)
    {
        var head = embedPlotlyJs
            ? $"<script type=\"text/javascript\">{PlotlyJs}</script>"
            : $"<script src=\"{PlotlyJsCdnUrl}\" charset=\"utf-8\"></script>";
        return $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(pageTitle ?? "chart")}</title>{head}</head>\n<body>\n{ToHtml()}\n</body></html>\n";
    }

    /// <summary>Writes <see cref="ToStandaloneHtml"/> to a file.</summary>
    public void SaveHtml(string path, bool embedPlotlyJs = true) =>
        File.WriteAllText(path, ToStandaloneHtml(embedPlotlyJs, Path.GetFileNameWithoutExtension(path)));

    static readonly Lazy<string> _plotlyJs = new(() =>
    {
        var asm = typeof(GenericChart).Assembly;
        var name = asm.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith(".min.js", StringComparison.Ordinal) && n.Contains("plotly-"))
                   ?? throw new InvalidOperationException("Plotly.NET does not embed plotly.js in this version; use embedPlotlyJs: false");
        using var stream = asm.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>
    /// The text of plotly.min.js as shipped inside Plotly.NET (the release <see cref="PlotlyJsCdnUrl"/> names), for
    /// pages that must work offline: put it in a script tag once, before any <see cref="ToHtml"/> fragment.
    /// </summary>
    public static string PlotlyJs => _plotlyJs.Value;

    /// <summary>Overlays charts in one plot (traces combined, the first chart's layout wins).</summary>
    public static Chart Combine(params Chart[] charts) =>
        new(GenericChart.combine(charts.Select(c => c.Figure)));

    public override string ToString() => $"Chart({string.Join(", ", TraceNames.Select(n => n ?? "unnamed"))})";
}

/// <summary>Formatters for <see cref="Chart"/>: text/html (div + script) and text/plain.</summary>
public sealed class ChartFormatterSource
{
    public IEnumerable<object> CreateTypeFormatters() => new object[]
    {
        new MimeFormatter<Chart>("text/html", (c, w) => w.Write(c.ToHtml())),
        new MimeFormatter<Chart>("text/plain", (c, w) => w.Write(c.ToString())),
    };
}
