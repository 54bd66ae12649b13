using System.Text.Json.Nodes;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Plots;

/// <summary>The rectangle a 2-D plot covers.</summary>
public readonly record struct Extent(double XMin, double XMax, double YMin, double YMax)
{
    /// <summary>The square [-r, r]².</summary>
    public static Extent Square(double r) => new(-r, r, -r, r);

    internal void Validate(string param)
    {
        if (!(XMax > XMin) || !(YMax > YMin) || !double.IsFinite(XMin + XMax + YMin + YMax))
            throw new ArgumentException($"extent {this} is empty or not finite", param);
    }
}

public static partial class Charts
{
    /// <summary>
    /// A heatmap of a 2-D density given by its log-density (a function from points [N, 2] to log p [N]), evaluated on a
    /// <paramref name="resolution"/>² grid over <paramref name="extent"/> under no_grad, on the CPU in float32 unless
    /// <paramref name="device"/> says otherwise. Shows p = exp(log p) unless <paramref name="showLog"/>.
    /// </summary>
    public static Chart Density2D(Func<Tensor, Tensor> logDensity, Extent extent, int resolution = 100, bool showLog = false,
        string? title = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(logDensity);
        extent.Validate(nameof(extent));
        if (resolution < 2) throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "resolution must be at least 2");
        var values = new double[resolution, resolution];
        using (no_grad())
        using (NewDisposeScope())
        {
            var xs = linspace(extent.XMin, extent.XMax, resolution, dtype: ScalarType.Float32, device: device);
            var ys = linspace(extent.YMin, extent.YMax, resolution, dtype: ScalarType.Float32, device: device);
            var grid = meshgrid(new[] { ys, xs }, indexing: "ij"); // grid[0] = y (rows), grid[1] = x (columns)
            var points = stack(new[] { grid[1].reshape(-1), grid[0].reshape(-1) }, 1);
            var lp = logDensity(points);
            if (lp.NumberOfElements != (long)resolution * resolution)
                throw new ArgumentException(
                    $"logDensity returned shape {Shapes.Of(lp)} for {resolution * resolution} points of shape [N, 2] (expected [N])",
                    nameof(logDensity));
            var v = (showLog ? lp : lp.exp()).reshape(resolution, resolution).to(ScalarType.Float64).cpu().contiguous();
            var flat = v.data<double>().ToArray();
            for (int r = 0; r < resolution; r++)
                for (int c = 0; c < resolution; c++) values[r, c] = flat[r * resolution + c];
        }
        return Density2D(values, extent, title, showLog ? "log p(x)" : "p(x)");
    }

    /// <summary>A heatmap of a grid of values [rows = y from YMin to YMax, columns = x from XMin to XMax] over an extent.</summary>
    public static Chart Density2D(double[,] values, Extent extent, string? title = null, string? colorBarTitle = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        extent.Validate(nameof(extent));
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (rows < 2 || cols < 2) throw new ArgumentException($"values has shape {Figures.Shape(values)}: need at least [2, 2]", nameof(values));
        var z = Enumerable.Range(0, rows).Select(r => Figures.Clean(Enumerable.Range(0, cols).Select(c => values[r, c]))).ToArray();
        var x = Enumerable.Range(0, cols).Select(i => extent.XMin + (extent.XMax - extent.XMin) * i / (cols - 1)).ToArray();
        var y = Enumerable.Range(0, rows).Select(i => extent.YMin + (extent.YMax - extent.YMin) * i / (rows - 1)).ToArray();
        var trace = Figures.Trace("heatmap", ("z", z), ("x", x), ("y", y), ("colorscale", "Viridis"),
            ("colorbar", colorBarTitle is null ? null : Figures.Obj(("title", Figures.Title(colorBarTitle)))));
        return Figures.Build(new[] { trace }, title, Figures.Axis("x₁", extra: Figures.Obj(("range", new[] { extent.XMin, extent.XMax }))),
            Figures.Axis("x₂", extra: Figures.Obj(("range", new[] { extent.YMin, extent.YMax }), ("scaleanchor", "x"))), height: 480, width: 540);
    }

    /// <summary>A scatter plot of 2-D points [N, 2] (samples from a toy density or a flow).</summary>
    public static Chart Scatter2D(Tensor points, string name = "samples", string? title = null, Extent? extent = null, double markerSize = 3) =>
        Scatter2D(new[] { (name, points) }, title, extent, markerSize);

    /// <summary>Several named point sets [N, 2] in one scatter plot (e.g. data vs model samples).</summary>
    public static Chart Scatter2D(IReadOnlyList<(string Name, Tensor Points)> sets, string? title = null, Extent? extent = null, double markerSize = 3)
    {
        ArgumentNullException.ThrowIfNull(sets);
        if (sets.Count == 0) throw new ArgumentException("no point sets", nameof(sets));
        extent?.Validate(nameof(extent));
        var traces = new List<JsonObject>();
        for (int i = 0; i < sets.Count; i++)
        {
            var (name, pts) = sets[i];
            if (pts is null || pts.dim() != 2 || pts.shape[1] != 2)
                throw new ArgumentException($"points '{name}' have shape [{(pts is null ? "null" : string.Join(", ", pts.shape))}], expected [N, 2]", nameof(sets));
            double[] flat;
            using (no_grad())
            using (var c = pts.detach().to(ScalarType.Float64).cpu().contiguous())
                flat = c.data<double>().ToArray();
            var x = new double[flat.Length / 2];
            var y = new double[flat.Length / 2];
            for (int j = 0; j < x.Length; j++) { x[j] = flat[2 * j]; y[j] = flat[2 * j + 1]; }
            traces.Add(Figures.Trace("scattergl", ("x", x), ("y", y), ("mode", "markers"), ("name", name),
                ("marker", Figures.Obj(("size", markerSize), ("opacity", 0.6), ("color", Palette[i % Palette.Length])))));
        }
        var xr = extent is { } e ? Figures.Obj(("range", new[] { e.XMin, e.XMax })) : null;
        var yr = extent is { } e2 ? Figures.Obj(("range", new[] { e2.YMin, e2.YMax }), ("scaleanchor", "x")) : Figures.Obj(("scaleanchor", "x"));
        return Figures.Build(traces, title, Figures.Axis("x₁", extra: xr), Figures.Axis("x₂", extra: yr), height: 480, width: 540);
    }
}
