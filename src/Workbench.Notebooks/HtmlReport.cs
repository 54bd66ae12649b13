using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Markdig;

namespace Workbench.Notebooks;

/// <summary>
/// A standalone HTML page of an executed notebook: markdown rendered with Markdig, code shown, outputs inline,
/// plotly.js present once and formulas typeset by KaTeX (when a distribution is installed, see <see cref="Katex"/>), so
/// that the page opens offline.
/// </summary>
public static class HtmlReport
{
    const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
        main { max-width: 1000px; margin: 0 auto; padding: 1.5rem; }
        header.run { color: #57606a; font-size: 0.85rem; border-bottom: 1px solid #d0d7de; margin-bottom: 1rem; padding-bottom: 0.5rem; }
        .cell { margin: 0.8rem 0; }
        .label { color: #57606a; font: 0.75rem ui-monospace, monospace; margin-bottom: 0.2rem; }
        pre { margin: 0; padding: 0.6rem 0.8rem; overflow-x: auto; font: 0.85rem/1.4 ui-monospace, "SFMono-Regular", Menlo, monospace; }
        pre.source { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; }
        .outputs { padding: 0.3rem 0 0 0.8rem; border-left: 3px solid #d0d7de; margin-top: 0.3rem; }
        pre.stderr { background: #fff8e6; }
        pre.error { background: #ffebe9; color: #82071e; }
        img { max-width: 100%; }
        table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
        th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: right; }
        th { background: #f6f8fa; }
        code { background: #f6f8fa; padding: 0.1rem 0.25rem; border-radius: 4px; }
        pre code { background: none; padding: 0; }
        blockquote { color: #57606a; border-left: 3px solid #d0d7de; margin-left: 0; padding-left: 1rem; }
        .math { font-family: ui-monospace, monospace; margin: 0.6rem 0; }
        """;

    /// <summary>The page for an executed notebook in nbformat JSON (as <see cref="RunResult.Executed"/> holds it).</summary>
    public static string Render(JsonObject notebook, string title) => Render(notebook, title, Katex.Find());

    /// <summary>The page, its formulas typeset by <paramref name="katex"/> (shown as TeX source, with a note, when null).</summary>
    public static string Render(JsonObject notebook, string title, Katex? katex)
    {
        var body = new StringBuilder();
        foreach (var cell in (notebook["cells"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var source = Multiline(cell["source"]);
            if ((string?)cell["cell_type"] == "markdown")
            {
                body.Append("<section class=\"cell markdown\">\n").Append(Markdig.Markdown.ToHtml(source, Pipeline)).Append("</section>\n");
                continue;
            }
            if ((string?)cell["cell_type"] != "code") continue;
            var injected = cell["metadata"]?["tags"] is JsonArray tags && tags.Any(t => (string?)t == Parameters.InjectedTag);
            body.Append("<section class=\"cell code\">\n<div class=\"label\">")
                .Append(injected ? "injected parameters " : "")
                .Append(cell["execution_count"] is JsonValue n ? $"[{n}]" : "[ ]")
                .Append("</div>\n<pre class=\"source\"><code>").Append(Escape(source)).Append("</code></pre>\n");
            if (cell["outputs"] is JsonArray { Count: > 0 } outputs)
            {
                body.Append("<div class=\"outputs\">\n");
                foreach (var output in outputs.OfType<JsonObject>()) RenderOutput(output, body);
                body.Append("</div>\n");
            }
            body.Append("</section>\n");
        }

        var html = body.ToString();
        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(Escape(title)).Append("</title>\n<style>\n").Append(Style).Append("\n</style>\n");
        // Charts draw with plotly.js: the first chart output of a run carries it; when none does (it was replaced
        // by a live update, say), the page embeds it once in the head so that it opens offline.
        if (html.Contains("workbench-chart", StringComparison.Ordinal) && !html.Contains(Plots.Chart.PlotlyJsCarrierAttribute, StringComparison.Ordinal))
            page.Append("<script type=\"text/javascript\">\n")
                .Append(Plots.Chart.PlotlyJs.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase))
                .Append("\n</script>\n");
        var hasMath = HasMath(html);
        if (hasMath && katex is not null) page.Append(katex.HeadFragment);
        page.Append("</head>\n<body>\n<main>\n<header class=\"run\">").Append(Escape(title)).Append(RunLine(notebook));
        if (hasMath && katex is null) page.Append("<br>").Append(Escape(MathNote));
        page.Append("</header>\n")
            .Append(html).Append("</main>\n</body>\n</html>\n");
        return page.ToString();
    }

    /// <summary>Said in the page (and by <c>notebook run --html</c>) when formulas stay TeX source.</summary>
    public const string MathNote = "formulas are shown as TeX source: no KaTeX was found (apt-get install libjs-katex, or npm install katex in the repository)";

    /// <summary>Whether a rendered page body has formulas (Markdig's mathematics extension marks them with class "math").</summary>
    public static bool HasMath(string html) => html.Contains("class=\"math\"", StringComparison.Ordinal);

    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    static string Multiline(JsonNode? node) => node switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => (string?)x)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => (string)v!,
        _ => node.ToJsonString(),
    };

    static string RunLine(JsonObject notebook)
    {
        if (notebook["metadata"]?["workbench_run"] is not JsonObject run) return "";
        var parts = new List<string>();
        if (run["status"] is JsonValue status) parts.Add(status.ToString());
        if (run["end_time"] is JsonValue end) parts.Add(end.ToString());
        if (run["parameters"] is JsonObject { Count: > 0 } ps)
            parts.Add("parameters " + string.Join(", ", ps.Select(kv => $"{kv.Key}={kv.Value}")));
        return Escape(" · " + string.Join(" · ", parts));
    }

    static void RenderOutput(JsonObject output, StringBuilder html)
    {
        switch ((string?)output["output_type"])
        {
            case "stream":
                var name = (string?)output["name"] ?? "stdout";
                html.Append($"<pre class=\"{Escape(name)}\">").Append(Escape(Multiline(output["text"]))).Append("</pre>\n");
                break;
            case "error":
                var trace = output["traceback"] is JsonArray tb ? string.Join("\n", tb.Select(t => (string?)t)) : "";
                html.Append("<pre class=\"error\">").Append(Escape($"{output["ename"]}: {output["evalue"]}\n{trace}")).Append("</pre>\n");
                break;
            case "display_data" or "execute_result" when output["data"] is JsonObject data:
                RenderBundle(data, html);
                break;
        }
    }

    /// <summary>The richest representation a browser shows: PNG, HTML, SVG, markdown, then text.</summary>
    static void RenderBundle(JsonObject data, StringBuilder html)
    {
        string? Get(string mime) => data[mime] is { } node ? Multiline(node) : null;

        if (Get("image/png") is { } png)
            html.Append("<div><img src=\"data:image/png;base64,").Append(png.Replace("\n", "").Trim()).Append("\" alt=\"\"></div>\n");
        else if (Get("text/html") is { } h)
            html.Append("<div>").Append(h).Append("</div>\n");
        else if (Get("image/svg+xml") is { } svg)
            html.Append("<div>").Append(svg).Append("</div>\n");
        else if (Get("text/markdown") is { } md)
            html.Append("<div>").Append(Markdig.Markdown.ToHtml(md, Pipeline)).Append("</div>\n");
        else if (Get("text/plain") is { } text)
            html.Append("<pre>").Append(Escape(text)).Append("</pre>\n");
    }

    static string Escape(string s) => WebUtility.HtmlEncode(s);
}
