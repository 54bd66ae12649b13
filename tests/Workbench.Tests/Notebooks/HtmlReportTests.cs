using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class HtmlReportTests
{
    static JsonObject Executed(string outputs) => JsonNode.Parse("""
        {"cells":[
          {"cell_type":"markdown","id":"m","metadata":{},"source":"## Results\n| a | b |\n|---|---|\n| 1 | 2 |"},
          {"cell_type":"code","id":"c","metadata":{},"execution_count":1,"source":"var a = 1 < 2;","outputs":OUTPUTS}],
         "metadata":{"workbench_run":{"status":"ok","parameters":{"quick":"true"}}},"nbformat":4,"nbformat_minor":5}
        """.Replace("OUTPUTS", outputs))!.AsObject();

    [Fact]
    public void RendersMarkdownCodeAndEachKindOfOutput()
    {
        var html = HtmlReport.Render(Executed("""
            [{"output_type":"stream","name":"stderr","text":["careful <now>\n"]},
             {"output_type":"display_data","data":{"image/png":"AAAA","text/plain":["img"]},"metadata":{}},
             {"output_type":"execute_result","execution_count":1,"data":{"text/plain":["42"]},"metadata":{}},
             {"output_type":"error","ename":"Boom","evalue":"bad","traceback":["at line 1"]}]
            """), "report");
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Matches("<h2[^>]*>Results</h2>", html);
        Assert.Contains("<table>", html); // Markdig's pipe tables
        Assert.Contains("var a = 1 &lt; 2;", html);
        Assert.Contains("<pre class=\"stderr\">careful &lt;now&gt;\n</pre>", html);
        Assert.Contains("<img src=\"data:image/png;base64,AAAA\" alt=\"\">", html);
        Assert.Contains("<pre>42</pre>", html);
        Assert.Contains("Boom: bad\nat line 1", html);
        Assert.Contains("quick=true", html);
        Assert.DoesNotContain("<script", html); // no chart, no 3.6 MB of JavaScript
    }

    [Fact]
    public void EmbedsPlotlyJsOnceWhenNoChartOutputCarriesIt()
    {
        var chart = """{"output_type":"display_data","data":{"text/html":"<div class=\"workbench-chart\"></div><script>Plotly.newPlot('x', [], {});</script>"},"metadata":{}}""";
        var html = HtmlReport.Render(Executed($"[{chart},{chart}]"), "charts");
        var head = html[..html.IndexOf("<body>", StringComparison.Ordinal)];
        Assert.Single(Regex.Matches(html, "<script type=\"text/javascript\">\n"));
        Assert.Contains("plotly", head);
        Assert.DoesNotContain("</script", head[head.IndexOf("<script", StringComparison.Ordinal)..head.LastIndexOf("\n</script>", StringComparison.Ordinal)]);
    }

    [Fact]
    public void AddsNoSecondCopyWhenAChartOutputCarriesPlotlyJs()
    {
        var chart = """{"output_type":"display_data","data":{"text/html":"<div class=\"workbench-chart\"></div><script data-workbench-plotlyjs>/* plotly */</script>"},"metadata":{}}""";
        var html = HtmlReport.Render(Executed($"[{chart}]"), "charts");
        Assert.DoesNotContain("<script type=\"text/javascript\">\n", html);
    }
    static JsonObject WithMarkdown(string markdown) => JsonNode.Parse(
        "{\"cells\":[{\"cell_type\":\"markdown\",\"id\":\"m\",\"metadata\":{},\"source\":" + JsonValue.Create(markdown).ToJsonString() + "}]," +
        "\"metadata\":{},\"nbformat\":4,\"nbformat_minor\":5}")!.AsObject();

    /// <summary>A KaTeX distribution laid out as npm's dist folder, with marker contents.</summary>
    static string FakeKatex(bool withFont = true)
    {
        var folder = Directory.CreateTempSubdirectory("katex-").FullName;
        Directory.CreateDirectory(Path.Combine(folder, "contrib"));
        Directory.CreateDirectory(Path.Combine(folder, "fonts"));
        File.WriteAllText(Path.Combine(folder, "katex.min.js"), "var KATEX_MARKER = '</script>';");
        File.WriteAllText(Path.Combine(folder, "contrib", "auto-render.min.js"), "var AUTORENDER_MARKER = 1;");
        File.WriteAllText(Path.Combine(folder, "katex.min.css"),
            "@font-face{font-family:KaTeX_Main;src:url(fonts/KaTeX_Main-Regular.woff2) format('woff2'),url(fonts/KaTeX_Main-Regular.woff) format('woff');font-weight:400}.katex{font:normal 1.21em KaTeX_Main}");
        if (withFont) File.WriteAllBytes(Path.Combine(folder, "fonts", "KaTeX_Main-Regular.woff2"), new byte[] { 1, 2, 3 });
        return folder;
    }

    [Fact]
    public void EmbedsKatexWithItsFontsWhenThePageHasMath()
    {
        var katex = Katex.TryLoad(FakeKatex());
        Assert.NotNull(katex);
        var html = HtmlReport.Render(WithMarkdown("A small MLP learns $y = \\sin(3x)$ on $$[-2, 2]$$."), "math", katex);
        var head = html[..html.IndexOf("<body>", StringComparison.Ordinal)];
        Assert.Contains("<span class=\"math\">\\(y = \\sin(3x)\\)</span>", html);   // Markdig's mathematics extension
        Assert.Contains("KATEX_MARKER", head);
        Assert.Contains("AUTORENDER_MARKER", head);
        Assert.Contains("renderMathInElement", head);
        Assert.Contains("url(data:font/woff2;base64,AQID) format('woff2')", head);   // the font inline: opens offline
        Assert.DoesNotContain("url(fonts/", head);
        Assert.DoesNotContain("'</script>'", head);
        Assert.DoesNotContain(HtmlReport.MathNote, html);

        var plain = HtmlReport.Render(WithMarkdown("no formulas here"), "plain", katex);
        Assert.DoesNotContain("KATEX_MARKER", plain);   // 600 kB only where there is math
    }

    [Fact]
    public void SaysSoWhenNoKatexIsFound()
    {
        Assert.Null(Katex.TryLoad(FakeKatex(withFont: false)));   // a font the stylesheet names is missing
        var html = HtmlReport.Render(WithMarkdown("$x^2$"), "math", katex: null);
        Assert.Contains("\\(x^2\\)", html);
        Assert.Contains(HtmlReport.MathNote, html);
    }

    [SkippableFact]
    public void DebiansKatexLoads()
    {
        if (!Directory.Exists("/usr/share/javascript/katex")) throw new SkipTestException("Debian's libjs-katex is not installed (.ci/run installs it)");
        var katex = Katex.TryLoad("/usr/share/javascript/katex");
        Assert.NotNull(katex);
        Assert.Contains("renderMathInElement", katex!.HeadFragment);
        Assert.Equal(20, Regex.Matches(katex.HeadFragment, "data:font/woff2;base64,").Count);
        Assert.DoesNotContain("url(fonts/", katex.HeadFragment);
    }
}
