namespace Workbench.Plots;

public static partial class Charts
{
    /// <summary>
    /// A chart with no traces, only a title and the usual layout: the first value of a live chart, which a notebook
    /// then updates with full charts (<c>var curve = display(Charts.Empty("training loss")); …
    /// curve.Update(Charts.Curves(log, "loss"));</c>). The notebook formats every update with the MIME type of the
    /// first display, so a live chart starts as this HTML chart rather than as text.
    /// </summary>
    public static Chart Empty(string? title = null) =>
        Figures.Build(Array.Empty<System.Text.Json.Nodes.JsonObject>(), title, Figures.Axis(null), Figures.Axis(null));
}
