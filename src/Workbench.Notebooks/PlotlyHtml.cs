namespace Workbench.Notebooks;

/// <summary>The plotly.js source for the offline report (the copy Workbench.dll embeds).</summary>
public static class PlotlyHtml
{
    /// <summary>The plotly.js version Workbench.dll embeds.</summary>
    public static string PlotlyJsVersion => Workbench.Plots.Chart.PlotlyJsVersion;

    /// <summary>The minified plotly.js source (about 3.6 MB), from Workbench.dll.</summary>
    public static string PlotlyJs() => Workbench.Plots.Chart.PlotlyJs;
}
