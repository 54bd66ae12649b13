namespace Workbench.Plots;

public static partial class Charts
{
    /// <summary>
    /// A bar chart of one mean per label with ± error bars (e.g. held-out bits/dim per sweep setting, mean ± std over
    /// seeds). A non-finite error (one seed) draws no bar; a non-finite mean leaves the bar out. With
    /// <paramref name="zoom"/> the y axis spans only the bars' tops and error bars (plus 20% margin), so that small
    /// differences between large values show; otherwise it starts at 0.
    /// </summary>
    public static Chart BarsWithErrors(IReadOnlyList<string> labels, IReadOnlyList<double> means, IReadOnlyList<double> errors,
        string? title = null, string? yLabel = null, string? name = null, bool zoom = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(errors);
        if (labels.Count != means.Count || labels.Count != errors.Count)
            throw new ArgumentException($"{labels.Count} labels, {means.Count} means and {errors.Count} errors", nameof(errors));
        var trace = Figures.Trace("bar", ("x", labels.ToArray()), ("y", Figures.Clean(means)), ("name", name ?? yLabel ?? "mean"),
            ("error_y", Figures.Obj(("type", "data"), ("array", Figures.Clean(errors)), ("visible", true))),
            ("marker", Figures.Obj(("color", Palette[0]))));
        double[]? range = null;
        var ends = means.Zip(errors, (m, e) => (Lo: m - (double.IsFinite(e) ? e : 0), Hi: m + (double.IsFinite(e) ? e : 0)))
            .Where(x => double.IsFinite(x.Lo) && double.IsFinite(x.Hi)).ToList();
        if (zoom && ends.Count > 0)
        {
            double lo = ends.Min(x => x.Lo), hi = ends.Max(x => x.Hi), pad = Math.Max(0.2 * (hi - lo), 1e-3 * Math.Abs(hi) + 1e-9);
            range = new[] { lo - pad, hi + pad };
        }
        return Figures.Build(new[] { trace }, title, Figures.Axis(null, extra: Figures.Obj(("type", "category"))),
            Figures.Axis(yLabel, extra: range is null ? null : Figures.Obj(("range", range))));
    }
}
