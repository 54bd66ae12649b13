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
}
