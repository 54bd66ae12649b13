using System.Reflection;
using System.Text.RegularExpressions;

namespace Workbench.Notebooks;

/// <summary>
/// Plotly.NET charts as notebook HTML, and the plotly.js source for the offline report. Plotly.NET ships
/// plotly.js inside its own assembly (as a resource, for its "Full" reference mode), so we read it from
/// there instead of carrying a second copy.
/// </summary>
public static partial class PlotlyHtml
{
    [GeneratedRegex(@"plotly-(?<v>[0-9][0-9.]*)\.min\.js$")]
    private static partial Regex ResourceName();

    static readonly Lazy<(string Version, string Resource)> Embedded = new(() =>
    {
        var asm = typeof(Plotly.NET.GenericChart).Assembly;
        foreach (var name in asm.GetManifestResourceNames())
        {
            var m = ResourceName().Match(name);
            if (m.Success) return (m.Groups["v"].Value, name);
        }
        throw new InvalidOperationException($"{asm.GetName().Name} {asm.GetName().Version} carries no plotly.js resource.");
    });

    /// <summary>The plotly.js version Plotly.NET carries (and that its charts are written for).</summary>
    public static string PlotlyJsVersion => Embedded.Value.Version;

    /// <summary>The minified plotly.js source (about 3.6 MB).</summary>
    public static string PlotlyJs()
    {
        using var stream = typeof(Plotly.NET.GenericChart).Assembly.GetManifestResourceStream(Embedded.Value.Resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// A div and a script that draws the chart with the page's plotly.js when there is one (our HTML report
    /// embeds it once in its head), and otherwise loads the matching version from the plotly CDN, via
    /// require.js where the page uses it (classic Jupyter), as Plotly.NET.Interactive does.
    /// </summary>
    public static string Chart(Plotly.NET.GenericChart chart)
    {
        var id = "plotly-" + Guid.NewGuid().ToString("N")[..12];
        var figure = Plotly.NET.GenericChart.toFigureJson(chart);
        var cdn = $"https://cdn.plot.ly/plotly-{PlotlyJsVersion}.min";
        return $$"""
            <div id="{{id}}"></div>
            <script type="text/javascript">
            (function () {
              var figure = {{figure}};
              function draw(P) { P.newPlot('{{id}}', figure.data, figure.layout, { responsive: true }); }
              if (typeof Plotly !== 'undefined') { draw(Plotly); return; }
              if (typeof require === 'function' && require.config) {
                require.config({ paths: { plotly: '{{cdn}}' } });
                require(['plotly'], draw);
                return;
              }
              var s = document.createElement('script');
              s.src = '{{cdn}}.js';
              s.onload = function () { draw(Plotly); };
              document.head.appendChild(s);
            })();
            </script>
            """;
    }
}
