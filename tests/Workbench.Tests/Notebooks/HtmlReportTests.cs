using System.Text.RegularExpressions;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class HtmlReportTests
{
    static NotebookDocument Executed(string outputs) => NotebookDocument.Parse("""
        {"cells":[
          {"cell_type":"markdown","id":"m","metadata":{},"source":"## Results\nSee ![dot](attachment:dot.png)",
           "attachments":{"dot.png":{"image/png":"iVBORw0KGgo="}}},
          {"cell_type":"code","id":"c","metadata":{},"execution_count":1,"source":"var a = 1 < 2;","outputs":OUTPUTS}],
         "metadata":{"workbench_run":{"status":"completed","parameters":{"quick":"true"}}},"nbformat":4,"nbformat_minor":5}
        """.Replace("OUTPUTS", outputs));

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
        Assert.Contains("<h2>Results</h2>", html);
        Assert.Contains("<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"dot\">", html); // attachment inlined
        Assert.Contains("var a = 1 &lt; 2;", html);
        Assert.Contains("<pre class=\"stderr\">careful &lt;now&gt;\n</pre>", html);
        Assert.Contains("<img src=\"data:image/png;base64,AAAA\" alt=\"\">", html);
        Assert.Contains("<pre>42</pre>", html);
        Assert.Contains("Boom: bad\nat line 1", html);
        Assert.Contains("quick=true", html);
        Assert.DoesNotContain("plotly.js", html); // no chart, no 3.6 MB of JavaScript
    }

    [Fact]
    public void EmbedsPlotlyJsOnceForAnyNumberOfCharts()
    {
        var chart = """{"output_type":"display_data","data":{"text/html":"<div></div><script>Plotly.newPlot('x', [], {});</script>"},"metadata":{}}""";
        var html = HtmlReport.Render(Executed($"[{chart},{chart}]"), "charts");
        Assert.Single(Regex.Matches(html, @"/\* plotly\.js [0-9.]+ \*/"));
        Assert.True(html.IndexOf("/* plotly.js", StringComparison.Ordinal) < html.IndexOf("<body>", StringComparison.Ordinal));
        Assert.DoesNotContain("</script", html[(html.IndexOf("/* plotly.js", StringComparison.Ordinal))..html.IndexOf("\n</script>", StringComparison.Ordinal)]);
    }
}
