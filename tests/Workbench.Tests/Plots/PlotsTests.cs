using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;
using Workbench.Plots;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Plots;

public class ImageGridTests
{
    static SKBitmap Decode(byte[] png) => SKBitmap.Decode(png) ?? throw new InvalidDataException("PNG did not decode");

    [Fact]
    public void PngDecodesToTheRightSizeAndPixels()
    {
        // Two RGB 2x2 images with distinct values everywhere.
        using var images = arange(24, dtype: ScalarType.Int32).mul(10).to(ScalarType.Byte).view(2, 3, 2, 2);
        var grid = new ImageGrid(images, columns: 2, scale: 3, padding: 1);
        Assert.Equal((1, 2), (grid.Rows, grid.Columns));
        using var bmp = Decode(grid.ToPng());
        Assert.Equal(2 * 6 + 3 * 1, bmp.Width);
        Assert.Equal(6 + 2 * 1, bmp.Height);
        Assert.Equal(grid.PixelSize, (bmp.Width, bmp.Height));
        var px = images.data<byte>().ToArray();
        for (int i = 0; i < 2; i++)
        {
            var (ox, oy) = grid.TileOrigin(i);
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 6; x++)
                {
                    var c = bmp.GetPixel(ox + x, oy + y);
                    int sy = y / 3, sx = x / 3;
                    Assert.Equal(px[i * 12 + 0 * 4 + sy * 2 + sx], c.Red);
                    Assert.Equal(px[i * 12 + 1 * 4 + sy * 2 + sx], c.Green);
                    Assert.Equal(px[i * 12 + 2 * 4 + sy * 2 + sx], c.Blue);
                }
        }
        Assert.Equal(SKColors.White, bmp.GetPixel(0, 0)); // padding
    }

    [Theory]
    [InlineData(PixelRange.Signed, -1.0, 0.0, 1.0)]
    [InlineData(PixelRange.Flow, -0.5, 0.0, 0.5)]
    [InlineData(PixelRange.Unit, 0.0, 0.5, 1.0)]
    public void FloatRangesMapToBytesAndGreyBecomesRgb(PixelRange range, double lo, double mid, double hi)
    {
        using var images = tensor(new[] { (float)lo, (float)mid, (float)hi, (float)(hi + 5) }).view(1, 1, 1, 4);
        var grid = new ImageGrid(images, range: range, scale: 1, padding: 0);
        using var bmp = Decode(grid.ToPng());
        Assert.Equal((4, 1), (bmp.Width, bmp.Height));
        byte[] expected = { 0, 128, 255, 255 };
        for (int x = 0; x < 4; x++)
        {
            var c = bmp.GetPixel(x, 0);
            Assert.Equal(expected[x], c.Red);
            Assert.Equal(c.Red, c.Green);
            Assert.Equal(c.Red, c.Blue);
        }
    }

    [Fact]
    public void AutoScaleMakesTinyImagesAtLeast64PixelsTall()
    {
        using var images = zeros(3, 8, 8, dtype: ScalarType.Byte);
        Assert.Equal(8, new ImageGrid(images).Scale);
        using var big = zeros(1, 1, 100, 100, dtype: ScalarType.Byte);
        Assert.Equal(1, new ImageGrid(big).Scale);
    }

    [Fact]
    public void TraversalAndStripLayOutRowsAndColumnsWithLabels()
    {
        using var images = rand(new long[] { 2, 3, 3, 4, 4 });
        var t = ImageGrid.Traversal(images, 2, 3, new[] { "z0", "z1" }, new[] { "-2", "0", "+2" }, PixelRange.Unit, title: "traversal");
        Assert.Equal((2, 3, 6), (t.Rows, t.Columns, t.Count));
        using var bmp = Decode(t.ToPng());
        Assert.Equal(t.PixelSize, (bmp.Width, bmp.Height));
        var (ox, oy) = t.TileOrigin(0);
        // Labels (where a font exists) take room on the left and top; something is drawn there.
        if (ox > t.Padding)
        {
            bool ink = false;
            for (int y = oy; y < oy + 4 * t.Scale && !ink; y++)
                for (int x = 0; x < ox - 1 && !ink; x++) ink = bmp.GetPixel(x, y) != SKColors.White;
            Assert.True(ink, "row label area is blank");
        }
        var s = ImageGrid.Strip(rand(5, 1, 4, 4), new[] { "0", ".25", ".5", ".75", "1" }, PixelRange.Unit);
        Assert.Equal((1, 5), (s.Rows, s.Columns));
        Assert.Contains("data:image/png;base64,", s.ToHtml());
    }

    [Fact]
    public void FromRowsStacksEqualBatches()
    {
        var rows = new[] { zeros(4, 1, 3, 3), ones(4, 1, 3, 3) };
        var g = ImageGrid.FromRows(rows, new[] { "T = 0", "T = 1" }, range: PixelRange.Unit, scale: 1);
        Assert.Equal((2, 4), (g.Rows, g.Columns));
        using var bmp = SKBitmap.Decode(g.ToPng());
        var (x0, y0) = g.TileOrigin(0);
        var (x1, y1) = g.TileOrigin(4);
        Assert.Equal(0, bmp.GetPixel(x0 + 1, y0 + 1).Red);
        Assert.Equal(255, bmp.GetPixel(x1 + 1, y1 + 1).Red);
        var e = Assert.Throws<ArgumentException>(() => ImageGrid.FromRows(new[] { zeros(4, 1, 3, 3), zeros(3, 1, 3, 3) }, range: PixelRange.Unit));
        Assert.Equal("rows", e.ParamName);
        Assert.Contains("row 1", e.Message);
    }

    [Fact]
    public void BadInputsNameTheParameterAndShape()
    {
        var e = Assert.Throws<ArgumentException>(() => new ImageGrid(zeros(2, 3, dtype: ScalarType.Byte)));
        Assert.Equal("images", e.ParamName);
        Assert.Contains("[2, 3]", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new ImageGrid(zeros(2, 2, 4, 4, dtype: ScalarType.Byte)));
        Assert.Contains("2 channels", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => new ImageGrid(zeros(4, 1, 4, 4, dtype: ScalarType.Byte), columns: 2, rowLabels: new[] { "a" }));
        Assert.Equal("rowLabels", e3.ParamName);
        var e4 = Assert.Throws<ArgumentException>(() => new ImageGrid(zeros(4, 1, 4, 4)));
        Assert.Equal("range", e4.ParamName);
        var e5 = Assert.Throws<ArgumentException>(() => ImageGrid.Traversal(zeros(5, 1, 4, 4, dtype: ScalarType.Byte), 2, 3));
        Assert.Contains("2·3 = 6", e5.Message);
        var e6 = Assert.Throws<ArgumentException>(() => new ImageGrid(zeros(3, 1, 4, 4, dtype: ScalarType.Byte), columnLabels: new[] { "a", "b" }));
        Assert.Equal("columnLabels", e6.ParamName);
    }

    [Fact]
    public void GridOutlivesItsTensor()
    {
        var images = full(new long[] { 1, 1, 2, 2 }, 7, dtype: ScalarType.Byte);
        var grid = new ImageGrid(images, scale: 1, padding: 0);
        images.Dispose();
        using var bmp = Decode(grid.ToPng());
        Assert.Equal(7, bmp.GetPixel(1, 1).Red);
    }
}

public class FormatterContractTests
{
    /// <summary>Finds the formatters the way .NET Interactive does: by the attribute's name and reflection only.</summary>
    internal static List<(string Mime, MethodInfo Format, object Formatter)> FormattersOf(Type type)
    {
        var attr = type.GetCustomAttributes(true).Single(a => a.GetType().Name == "TypeFormatterSourceAttribute");
        var sourceType = (Type)attr.GetType().GetProperty("FormatterSourceType")!.GetValue(attr)!;
        var source = Activator.CreateInstance(sourceType)!;
        var formatters = (System.Collections.IEnumerable)sourceType.GetMethod("CreateTypeFormatters")!.Invoke(source, null)!;
        return formatters.Cast<object>().Select(f => ((string)f.GetType().GetProperty("MimeType")!.GetValue(f)!,
            f.GetType().GetMethod("Format", new[] { typeof(object), typeof(TextWriter) })!, f)).ToList();
    }

    /// <summary>Formats a value with the formatter of one MIME type, found by reflection; null when it declines.</summary>
    internal static string? FormatAs(object value, string mime)
    {
        var (_, format, f) = FormattersOf(value.GetType()).Single(x => x.Mime == mime);
        var w = new StringWriter();
        return (bool)format.Invoke(f, new[] { value, w })! ? w.ToString() : null;
    }

    static string[]? PreferredMimeTypes(Type type)
    {
        var attr = type.GetCustomAttributes(true).Single(a => a.GetType().Name == "TypeFormatterSourceAttribute");
        return (string[]?)attr.GetType().GetProperty("PreferredMimeTypes")!.GetValue(attr);
    }

    [Fact]
    public void ImageGridFormatsPngAndHtmlAndDeclinesOthers()
    {
        var grid = new ImageGrid(zeros(2, 1, 4, 4, dtype: ScalarType.Byte), scale: 1);
        var fs = FormattersOf(typeof(ImageGrid));
        Assert.Contains(fs, f => f.Mime == "image/png");
        Assert.Contains(fs, f => f.Mime == "text/html");
        foreach (var (mime, format, f) in fs)
        {
            var w = new StringWriter();
            Assert.False((bool)format.Invoke(f, new object[] { "not a grid", w })!);
            Assert.True((bool)format.Invoke(f, new object[] { grid, w })!);
            if (mime == "image/png")
            {
                var bytes = Convert.FromBase64String(w.ToString());
                using var bmp = SKBitmap.Decode(bytes);
                Assert.Equal(grid.PixelSize, (bmp.Width, bmp.Height));
            }
        }
    }

    [Fact]
    public void ChartsAndProgressPreferHtmlAndAlsoFormatPlainText()
    {
        foreach (var type in new[] { typeof(Chart), typeof(Progress) })
        {
            Assert.Equal("text/html", PreferredMimeTypes(type)?.FirstOrDefault());
            Assert.Equal(new[] { "text/html", "text/plain" }, FormattersOf(type).Select(f => f.Mime).Order().ToArray());
        }
        Assert.Equal("Chart(no traces: loss)", FormatAs(Charts.Empty("loss"), "text/plain"));
        Assert.Equal("steps 3/4 (75%)", FormatAs(new Progress(3, 4, "steps"), "text/plain"));
    }

    [Fact]
    public void ProgressFormatsHtmlAndDeclinesOthers()
    {
        var html = FormattersOf(typeof(Progress)).Single(f => f.Mime == "text/html");
        var w = new StringWriter();
        Assert.False((bool)html.Format.Invoke(html.Formatter, new object[] { 42, w })!);
        Assert.True((bool)html.Format.Invoke(html.Formatter, new object[] { new Progress(120, 500, "epoch"), w })!);
        Assert.Contains("<progress value=\"120\" max=\"500\"></progress>", w.ToString());
        Assert.Contains("epoch 120/500 (24%)", w.ToString());
    }
}

public class ProgressTests
{
    [Fact]
    public void ShowsLabelCountAndPercentRoundedDown()
    {
        var p = new Progress(120, 500, "training");
        Assert.Equal("training 120/500 (24%)", p.ToString());
        Assert.Equal(0.24, p.Fraction, 12);
        Assert.Equal("3/4 (75%)", new Progress(3, 4).ToString());
        Assert.Equal("999/1000 (99%)", new Progress(999, 1000).ToString());
        Assert.Equal("x 0/7 (0%)", new Progress(0, 7, "x").ToString());
        Assert.Equal(100, new Progress(long.MaxValue, long.MaxValue).Percent);
        var html = new Progress(5, 10, "<b>a & b</b>").ToHtml();
        Assert.Contains("<progress value=\"5\" max=\"10\"></progress>", html);
        Assert.Contains("&lt;b&gt;a &amp; b&lt;/b&gt; 5/10 (50%)", html);
        Assert.DoesNotContain("<b>", html);
        Assert.Equal(new Progress(1, 2, "a"), new Progress(1, 2, "a"));
    }

    [Theory]
    [InlineData(0, 0, "total")]
    [InlineData(0, -5, "total")]
    [InlineData(-1, 10, "done")]
    [InlineData(11, 10, "done")]
    public void RejectsCountsOutOfRange(long done, long total, string param)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Progress(done, total));
        Assert.Equal(param, e.ParamName);
    }
}

public class ChartsTests
{
    static JsonElement Figure(Chart c) => JsonDocument.Parse(c.ToJson()).RootElement;
    static JsonElement Data(Chart c) => Figure(c).GetProperty("data");
    static JsonElement Layout(Chart c) => Figure(c).GetProperty("layout");

    [Fact]
    public void CurvesNameTheirTracesAndSmooth()
    {
        var log = new TrainingLog();
        for (int s = 0; s < 10; s++) log.Add(s, ("loss", 10 - s), ("bpd", 5.0 - 0.1 * s));
        var chart = Charts.Curves(log, "loss", "bpd");
        Assert.Equal(new[] { "loss", "bpd" }, chart.TraceNames);
        var html = chart.ToHtml(includePlotlyJs: false);
        Assert.Contains("\"loss\"", html);
        Assert.Contains("\"bpd\"", html);

        var smooth = Charts.Curves(log, new[] { "loss" }, smoothing: 0.6, logY: true, title: "NLL");
        Assert.Equal(new[] { "loss (raw)", "loss" }, smooth.TraceNames);
        var data = Data(smooth);
        Assert.Equal("scatter", data[0].GetProperty("type").GetString());
        Assert.Equal("lines", data[0].GetProperty("mode").GetString());
        Assert.False(data[0].GetProperty("showlegend").GetBoolean());
        Assert.Equal(0.25, data[0].GetProperty("opacity").GetDouble());
        Assert.Equal("loss", data[0].GetProperty("legendgroup").GetString());
        Assert.Equal(9.0, data[0].GetProperty("y")[1].GetDouble());
        Assert.Equal(Charts.Smooth(Enumerable.Range(0, 10).Select(s => 10.0 - s).ToArray(), 0.6)[1], data[1].GetProperty("y")[1].GetDouble(), 12);
        Assert.Equal(2, data[1].GetProperty("line").GetProperty("width").GetInt32());
        var layout = Layout(smooth);
        Assert.Equal("NLL", layout.GetProperty("title").GetProperty("text").GetString());
        Assert.Equal("log", layout.GetProperty("yaxis").GetProperty("type").GetString());
        Assert.Equal("loss", layout.GetProperty("yaxis").GetProperty("title").GetProperty("text").GetString());
        Assert.Equal("step", layout.GetProperty("xaxis").GetProperty("title").GetProperty("text").GetString());
        Assert.Equal(420, layout.GetProperty("height").GetInt32());
        Assert.Equal(50, layout.GetProperty("margin").GetProperty("t").GetInt32());
        Assert.Equal("NLL", smooth.Title);
        Assert.Throws<ArgumentOutOfRangeException>(() => Charts.Curves(log, new[] { "loss" }, smoothing: 1.0));
        Assert.Equal(new[] { "loss (raw)", "loss" }, Charts.Curves(log, "loss", smoothing: 0.5).TraceNames);
        Assert.Equal(new[] { "loss" }, Charts.Curves(log, "loss").TraceNames);
        Assert.Equal(new[] { "loss", "bpd" }, Charts.Curves(log).TraceNames); // all metrics
        Assert.Throws<KeyNotFoundException>(() => Charts.Curves(log, "nope"));
    }

    [Fact]
    public void FigureJsonWritesNonFiniteValuesAsNullAndHasNoFrames()
    {
        var chart = Charts.Lines(new[] { new Series("s", new[] { 1.0, 2, 3 }, new[] { double.NaN, 2, double.PositiveInfinity }) }, title: "gaps");
        var fig = Figure(chart);
        var y = fig.GetProperty("data")[0].GetProperty("y");
        Assert.Equal(JsonValueKind.Null, y[0].ValueKind);
        Assert.Equal(2.0, y[1].GetDouble());
        Assert.Equal(JsonValueKind.Null, y[2].ValueKind);
        Assert.Equal(0, fig.GetProperty("frames").GetArrayLength());
        Assert.Equal(new[] { "data", "layout", "frames" }, fig.EnumerateObject().Select(p => p.Name).ToArray());

        // Traces built by hand: copied in, and non-finite numbers written as null.
        var data = new JsonArray(new JsonObject { ["type"] = "scatter", ["name"] = "hand", ["y"] = new JsonArray(1.0, double.NaN, float.NegativeInfinity) });
        var own = new Chart(data, new JsonObject { ["title"] = new JsonObject { ["text"] = "by hand" } });
        ((JsonObject)data[0]!)["name"] = "changed";
        Assert.Equal(new[] { "hand" }, own.TraceNames);
        Assert.Equal("by hand", own.Title);
        var ys = Data(own)[0].GetProperty("y");
        Assert.Equal(new[] { JsonValueKind.Number, JsonValueKind.Null, JsonValueKind.Null }, ys.EnumerateArray().Select(v => v.ValueKind).ToArray());
        var copy = own.CopyData();
        ((JsonObject)copy[0]!)["name"] = "changed";
        own.CopyLayout()["title"] = "changed";
        Assert.Equal(new[] { "hand" }, own.TraceNames);
        Assert.Equal("by hand", own.Title);
        Assert.Throws<ArgumentException>(() => new Chart(new JsonArray(1, 2)));
    }

    [Fact]
    public void JsonKeepsUnicodeAndEscapesWhatWouldEndAScript()
    {
        var chart = Charts.Bars(new[] { "x₁" }, new[] { 1.0 }, title: "</script><b>&", yLabel: "bits/dim");
        var json = chart.ToJson();
        Assert.Contains("x₁", json);
        Assert.DoesNotContain("</script>", json);
        Assert.DoesNotContain("<b>", json);
        Assert.Equal("</script><b>&", Layout(chart).GetProperty("title").GetProperty("text").GetString());
        var html = chart.ToHtml(includePlotlyJs: false);
        Assert.Equal(1, html.Split("</script>").Length - 1); // only the chart's own script ends
    }

    [Fact]
    public void CombineConcatenatesTracesAndKeepsTheFirstLayout()
    {
        var bars = Charts.Bars(new[] { "a", "b" }, new[] { 1.0, 2.0 }, title: "bars", yLabel: "v");
        var lines = Charts.Lines(new[] { new Series("s", new[] { 0.0, 1.0 }, new[] { 3.0, 4.0 }), new Series("t", new[] { 0.0 }, new[] { 1.0 }) },
            title: "lines", logY: true);
        var both = Chart.Combine(bars, lines);
        Assert.Equal(new[] { "v", "s", "t" }, both.TraceNames);
        Assert.Equal(new[] { "bar", "scatter", "scatter" }, Data(both).EnumerateArray().Select(t => t.GetProperty("type").GetString()).ToArray());
        Assert.Equal(Layout(bars).GetRawText(), Layout(both).GetRawText());
        Assert.Equal("bars", both.Title);
        Assert.Equal("Chart(v, s, t)", both.ToString());
        Assert.Equal(new[] { "v" }, bars.TraceNames); // the inputs are unchanged
        Assert.Throws<ArgumentException>(() => Chart.Combine());
    }

    [Fact]
    public void EmptyChartHasOnlyATitleAndTheUsualLayout()
    {
        var empty = Charts.Empty("training loss");
        Assert.Equal(0, empty.TraceCount);
        Assert.Empty(empty.TraceNames);
        Assert.Equal(0, Data(empty).GetArrayLength());
        var layout = Layout(empty);
        Assert.Equal("training loss", layout.GetProperty("title").GetProperty("text").GetString());
        Assert.Equal(420, layout.GetProperty("height").GetInt32());
        Assert.Equal("Chart(no traces: training loss)", empty.ToString());
        Assert.Contains("newPlot(", empty.ToHtml(includePlotlyJs: false));
        var untitled = Charts.Empty();
        Assert.Null(untitled.Title);
        Assert.False(Layout(untitled).TryGetProperty("title", out _));
        Assert.Equal("Chart(no traces)", untitled.ToString());
    }

    [Fact]
    public void StandalonePageCarriesPlotlyJsOnceOrLinksTheCdn()
    {
        var chart = Charts.Bars(new[] { "a" }, new[] { 1.0 }, title: "NLL");
        var page = chart.ToStandaloneHtml();
        Assert.Equal(1, page.Split($"<script type=\"text/javascript\" {Chart.PlotlyJsCarrierAttribute}=").Length - 1);
        Assert.DoesNotContain(Chart.PlotlyJsCdnUrl + "\" charset", page); // offline: plotly.js is inline
        Assert.Contains("plotly.js v" + Chart.PlotlyJsVersion, page);
        var online = chart.ToStandaloneHtml(embedPlotlyJs: false);
        Assert.Contains($"<script src=\"{Chart.PlotlyJsCdnUrl}\" charset=\"utf-8\"></script>", online);
        Assert.DoesNotContain($"{Chart.PlotlyJsCarrierAttribute}=", online);
        Assert.Contains("NLL", online);
        var path = Path.Combine(Path.GetTempPath(), $"wb-chart-{Guid.NewGuid():N}.html");
        try
        {
            chart.SaveHtml(path, embedPlotlyJs: false);
            var saved = File.ReadAllText(path);
            Assert.Contains($"<title>{Path.GetFileNameWithoutExtension(path)}</title>", saved);
            Assert.Contains($"<script src=\"{Chart.PlotlyJsCdnUrl}\" charset=\"utf-8\"></script>", saved);
            Assert.Contains("newPlot(", saved);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void SmoothingIsDebiasedExponentialAverage()
    {
        var s = Charts.Smooth(new[] { 1.0, 3.0, double.NaN, 3.0 }, 0.5);
        Assert.Equal(1.0, s[0], 12);
        Assert.Equal((0.25 + 1.5) / 0.75, s[1], 12);
        Assert.True(double.IsNaN(s[2]));
        Assert.Equal((0.5 * 1.75 + 1.5) / 0.875, s[3], 12);
        Assert.Equal(new[] { 2.0, 4.0 }, Charts.Smooth(new[] { 2.0, 4.0 }, 0));
    }

    [Fact]
    public void HeatmapChecksItsShapeAndKeepsRowsAndColumns()
    {
        var values = new double[,] { { 1, 2, 3 }, { 4, 5, 6 } };
        var h = Charts.Heatmap(new[] { "group 0", "group 1" }, new double[] { 0, 100, 200 }, values, "KL per group", colorBarTitle: "nats");
        var trace = Data(h)[0];
        Assert.Equal("heatmap", trace.GetProperty("type").GetString());
        Assert.Equal("Viridis", trace.GetProperty("colorscale").GetString());
        Assert.Equal("nats", trace.GetProperty("colorbar").GetProperty("title").GetProperty("text").GetString());
        Assert.Equal("group 1", trace.GetProperty("y")[1].GetString());
        Assert.Equal("category", Layout(h).GetProperty("yaxis").GetProperty("type").GetString());
        var z = trace.GetProperty("z");
        Assert.Equal(2, z.GetArrayLength());
        Assert.Equal(6.0, z[1][2].GetDouble());
        var e = Assert.Throws<ArgumentException>(() => Charts.Heatmap(new[] { "a", "b", "c" }, new double[] { 0, 1, 2 }, values));
        Assert.Equal("values", e.ParamName);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[3, 3]", e.Message);

        var log = new TrainingLog();
        log.Add(0, ("kl/0", 1), ("kl/1", 2));
        log.Add(10, ("kl/0", 3));
        var fromLog = Charts.Heatmap(log, new[] { "kl/0", "kl/1" });
        var z2 = Data(fromLog)[0].GetProperty("z");
        Assert.Equal(3.0, z2[0][1].GetDouble());
        Assert.Equal(JsonValueKind.Number, z2[1][0].ValueKind);
        Assert.Equal(JsonValueKind.Null, z2[1][1].ValueKind); // kl/1 was not logged at step 10: a gap
    }

    [Fact]
    public void BarsCheckLabelCounts()
    {
        var b = Charts.Bars(new[] { "NICE", "RealNVP", "Glow" }, new[] { 4.5, 3.5, 3.35 }, yLabel: "bits/dim");
        Assert.Equal("bar", Data(b)[0].GetProperty("type").GetString());
        Assert.Equal(new[] { "bits/dim" }, b.TraceNames);
        Assert.Equal("category", Layout(b).GetProperty("xaxis").GetProperty("type").GetString());
        Assert.Equal("values", Assert.Throws<ArgumentException>(() => Charts.Bars(new[] { "a" }, new[] { 1.0, 2.0 })).ParamName);
        var g = Charts.Bars(new[] { "train", "test" }, new Dictionary<string, IReadOnlyList<double>> { ["A"] = new[] { 1.0, 2.0 }, ["B"] = new[] { 1.5, 2.5 } });
        Assert.Equal(new[] { "A", "B" }, g.TraceNames);
        Assert.Equal("group", Layout(g).GetProperty("barmode").GetString());
        Assert.Equal("#ff7f0e", Data(g)[1].GetProperty("marker").GetProperty("color").GetString());
    }

    [Fact]
    public void Density2DEvaluatesTheLogDensityOnTheGrid()
    {
        // Standard normal on [-2, 2]² with 5 points per axis: the centre is (0, 0), density 1/(2π).
        var c = Charts.Density2D(x => -0.5 * x.pow(2).sum(1) - Math.Log(2 * Math.PI), Extent.Square(2), resolution: 5);
        var z = Data(c)[0].GetProperty("z");
        Assert.Equal(5, z.GetArrayLength());
        Assert.Equal(1 / (2 * Math.PI), z[2][2].GetDouble(), 6);
        Assert.Equal(Math.Exp(-0.5 * (4 + 1)) / (2 * Math.PI), z[1][4].GetDouble(), 6); // row 1 → y = -1, column 4 → x = 2
        var layout = Layout(c);
        Assert.Equal(new[] { -2.0, 2.0 }, layout.GetProperty("xaxis").GetProperty("range").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        Assert.Equal("x", layout.GetProperty("yaxis").GetProperty("scaleanchor").GetString());
        Assert.Equal("x₂", layout.GetProperty("yaxis").GetProperty("title").GetProperty("text").GetString());
        Assert.Equal(540, layout.GetProperty("width").GetInt32());
        var e = Assert.Throws<ArgumentException>(() => Charts.Density2D(x => x, Extent.Square(1), resolution: 4));
        Assert.Equal("logDensity", e.ParamName);
        Assert.Throws<ArgumentException>(() => Charts.Density2D(x => x.sum(1), new Extent(1, 0, 0, 1)));
    }

    [Fact]
    public void Scatter2DTakesNBy2Points()
    {
        var s = Charts.Scatter2D(new[] { ("data", randn(50, 2)), ("model", randn(50, 2)) }, extent: Extent.Square(3));
        Assert.Equal(new[] { "data", "model" }, s.TraceNames);
        Assert.Equal("scattergl", Data(s)[0].GetProperty("type").GetString());
        Assert.Equal("markers", Data(s)[0].GetProperty("mode").GetString());
        Assert.Equal(50, Data(s)[0].GetProperty("x").GetArrayLength());
        var e = Assert.Throws<ArgumentException>(() => Charts.Scatter2D(randn(10, 3)));
        Assert.Contains("[10, 3]", e.Message);
    }
}

public class PlotlyJsResourceTests
{
    [Fact]
    public void PlotlyJsIsEmbeddedInWorkbenchDll()
    {
        var asm = typeof(Chart).Assembly;
        Assert.Contains("Workbench.Plots.plotly.min.js", asm.GetManifestResourceNames());
        Assert.Contains("Workbench.Plots.plotly.min.js.LICENSE.txt", asm.GetManifestResourceNames());
        var js = Chart.PlotlyJs;
        Assert.True(js.Length > 3_000_000, $"plotly.js is {js.Length} characters");
        Assert.StartsWith("/**\n* plotly.js v" + Chart.PlotlyJsVersion, js);
        Assert.Equal("2.28.0", Chart.PlotlyJsVersion);
        Assert.Equal("https://cdn.plot.ly/plotly-2.28.0.min.js", Chart.PlotlyJsCdnUrl);
        Assert.Contains("newPlot", js);
        Assert.Contains("t.Plotly=e()", js); // the UMD wrapper's global branch, which the carrier script relies on
    }

    [Fact]
    public void WorkbenchDllReferencesNeitherPlotlyNetNorFSharp()
    {
        string[] banned = { "FSharp.Core", "Plotly.NET", "DynamicObj" };
        var refs = typeof(Chart).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("System.Text.Json", refs);
        foreach (var name in banned) Assert.DoesNotContain(name, refs);

        // The library's own build output (same configuration as this test run) carries none of them either.
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // tests/Workbench.Tests/bin/<Configuration>/<tfm>
        var configuration = testBin.Parent!.Name;
        var libBin = Path.Combine(testBin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName, "src", "Workbench", "bin", configuration, "net8.0");
        if (!Directory.Exists(libBin)) return;
        foreach (var name in banned)
        {
            Assert.False(File.Exists(Path.Combine(libBin, name + ".dll")), $"{libBin} holds {name}.dll");
            var deps = Path.Combine(libBin, "Workbench.deps.json");
            if (File.Exists(deps)) Assert.DoesNotContain(name + "/", File.ReadAllText(deps));
        }
    }
}

/// <summary>The tests of the process-wide plotly.js delivery state run alone, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public class PlotlyJsDeliveryCollection
{
    public const string Name = "plotly.js delivery";
}

[Collection(PlotlyJsDeliveryCollection.Name)]
public class PlotlyJsDeliveryTests
{
    static readonly string CarrierTag = $"<script type=\"text/javascript\" {Chart.PlotlyJsCarrierAttribute}=\"{Chart.PlotlyJsVersion}\">";

    static Chart SomeChart() => Charts.Bars(new[] { "a" }, new[] { 1.0 });

    static int Count(string text, string part) => text.Split(part).Length - 1;

    [Fact]
    public void FirstHtmlCarriesPlotlyJsUntilReset()
    {
        Chart.ResetPlotlyJsDelivery();
        var first = FormatterContractTests.FormatAs(SomeChart(), "text/html")!; // as the notebook kernel does
        Assert.Equal(1, Count(first, CarrierTag));
        Assert.StartsWith(CarrierTag, first);
        Assert.Contains("plotly.js v" + Chart.PlotlyJsVersion, first);
        Assert.Contains("(function (define, module, exports) {", first); // plotly.js becomes a global even under RequireJS
        Assert.Contains("window.__workbenchPlotly.resolve(window.Plotly)", first);
        Assert.Equal(1, Count(first, "P.newPlot('"));

        var second = SomeChart().ToHtml();
        var third = FormatterContractTests.FormatAs(Charts.Empty("live"), "text/html")!;
        foreach (var later in new[] { second, third })
        {
            Assert.Equal(0, Count(later, CarrierTag));
            Assert.True(later.Length < 10_000);
            Assert.Contains("newPlot(", later);
            Assert.Contains("window.__workbenchPlotly.then(", later);
            Assert.Contains(Chart.PlotlyJsCdnUrl, later);
            Assert.Contains("requirejs(['plotly']", later);
        }

        Chart.ResetPlotlyJsDelivery();
        Assert.Equal(1, Count(SomeChart().ToHtml(), CarrierTag));
        Assert.Equal(0, Count(SomeChart().ToHtml(), CarrierTag));
    }

    [Fact]
    public void ExplicitChoiceIgnoresAndKeepsTheDeliveryState()
    {
        Chart.ResetPlotlyJsDelivery();
        Assert.Equal(1, Count(SomeChart().ToHtml(includePlotlyJs: true), CarrierTag));
        Assert.Equal(0, Count(SomeChart().ToHtml(includePlotlyJs: false), CarrierTag));
        Assert.Equal(0, Count(SomeChart().ToStandaloneHtml(embedPlotlyJs: false), CarrierTag));
        Assert.Equal(1, Count(SomeChart().ToHtml(), CarrierTag)); // still the first
        Assert.Equal(1, Count(SomeChart().ToHtml(includePlotlyJs: true), CarrierTag));
    }

    [Fact]
    public void ChartFormatsHtmlAndDeclinesOthers()
    {
        var log = new TrainingLog();
        log.Add(0, ("loss", 1.0));
        var chart = Charts.Curves(log, "loss");
        var html = FormatterContractTests.FormattersOf(typeof(Chart)).Single(f => f.Mime == "text/html");
        var w = new StringWriter();
        Assert.False((bool)html.Format.Invoke(html.Formatter, new object[] { 42, w })!);
        Assert.True((bool)html.Format.Invoke(html.Formatter, new object[] { chart, w })!);
        Assert.Contains("newPlot", w.ToString());
        Assert.Contains(Chart.PlotlyJsCdnUrl, w.ToString());
    }
}
