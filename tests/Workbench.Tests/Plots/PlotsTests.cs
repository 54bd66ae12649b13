using System.Reflection;
using System.Text.Json;
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
    static List<(string Mime, MethodInfo Format, object Formatter)> FormattersOf(Type type)
    {
        var attr = type.GetCustomAttributes(true).Single(a => a.GetType().Name == "TypeFormatterSourceAttribute");
        var sourceType = (Type)attr.GetType().GetProperty("FormatterSourceType")!.GetValue(attr)!;
        var source = Activator.CreateInstance(sourceType)!;
        var formatters = (System.Collections.IEnumerable)sourceType.GetMethod("CreateTypeFormatters")!.Invoke(source, null)!;
        return formatters.Cast<object>().Select(f => ((string)f.GetType().GetProperty("MimeType")!.GetValue(f)!,
            f.GetType().GetMethod("Format", new[] { typeof(object), typeof(TextWriter) })!, f)).ToList();
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
    public void ChartFormatsHtmlAndDeclinesOthers()
    {
        var log = new TrainingLog();
        log.Add(0, ("loss", 1.0));
        var chart = Charts.Curves(log, "loss");
        var html = FormattersOf(typeof(Chart)).Single(f => f.Mime == "text/html");
        var w = new StringWriter();
        Assert.False((bool)html.Format.Invoke(html.Formatter, new object[] { 42, w })!);
        Assert.True((bool)html.Format.Invoke(html.Formatter, new object[] { chart, w })!);
        Assert.Contains("newPlot", w.ToString());
        Assert.Contains(Chart.PlotlyJsCdnUrl, w.ToString());
    }
}

public class ChartsTests
{
    static JsonElement Data(Chart c) => JsonDocument.Parse(c.ToJson()).RootElement.GetProperty("data");

    [Fact]
    public void CurvesNameTheirTracesAndSmooth()
    {
        var log = new TrainingLog();
        for (int s = 0; s < 10; s++) log.Add(s, ("loss", 10 - s), ("bpd", 5.0 - 0.1 * s));
        var chart = Charts.Curves(log, "loss", "bpd");
        Assert.Equal(new[] { "loss", "bpd" }, chart.TraceNames);
        var html = chart.ToHtml();
        Assert.Contains("\"loss\"", html);
        Assert.Contains("\"bpd\"", html);

        var smooth = Charts.Curves(log, new[] { "loss" }, smoothing: 0.6, logY: true, title: "NLL");
        Assert.Equal(new[] { "loss (raw)", "loss" }, smooth.TraceNames);
        var json = JsonDocument.Parse(smooth.ToJson()).RootElement;
        Assert.Equal("log", json.GetProperty("layout").GetProperty("yaxis").GetProperty("type").GetString());
        Assert.Contains("NLL", smooth.ToStandaloneHtml(embedPlotlyJs: false));
        var page = smooth.ToStandaloneHtml();
        Assert.DoesNotContain(Chart.PlotlyJsCdnUrl + "\" charset", page); // offline: plotly.js is inline
        // The embedded plotly.js is the release the CDN fallback names.
        var version = Chart.PlotlyJsCdnUrl.Split('/').Last().Replace("plotly-", "").Replace(".min.js", "");
        Assert.Contains($"plotly.js v{version}", Chart.PlotlyJs[..200]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Charts.Curves(log, new[] { "loss" }, smoothing: 1.0));
        Assert.Equal(new[] { "loss (raw)", "loss" }, Charts.Curves(log, "loss", smoothing: 0.5).TraceNames);
        Assert.Equal(new[] { "loss" }, Charts.Curves(log, "loss").TraceNames);
        Assert.Equal(new[] { "loss", "bpd" }, Charts.Curves(log).TraceNames); // all metrics
        Assert.Throws<KeyNotFoundException>(() => Charts.Curves(log, "nope"));
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
        var h = Charts.Heatmap(new[] { "group 0", "group 1" }, new double[] { 0, 100, 200 }, values, "KL per group");
        var z = Data(h)[0].GetProperty("z");
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
        Assert.Equal("values", Assert.Throws<ArgumentException>(() => Charts.Bars(new[] { "a" }, new[] { 1.0, 2.0 })).ParamName);
        var g = Charts.Bars(new[] { "train", "test" }, new Dictionary<string, IReadOnlyList<double>> { ["A"] = new[] { 1.0, 2.0 }, ["B"] = new[] { 1.5, 2.5 } });
        Assert.Equal(new[] { "A", "B" }, g.TraceNames);
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
        var e = Assert.Throws<ArgumentException>(() => Charts.Density2D(x => x, Extent.Square(1), resolution: 4));
        Assert.Equal("logDensity", e.ParamName);
        Assert.Throws<ArgumentException>(() => Charts.Density2D(x => x.sum(1), new Extent(1, 0, 0, 1)));
    }

    [Fact]
    public void Scatter2DTakesNBy2Points()
    {
        var s = Charts.Scatter2D(new[] { ("data", randn(50, 2)), ("model", randn(50, 2)) }, extent: Extent.Square(3));
        Assert.Equal(new[] { "data", "model" }, s.TraceNames);
        Assert.Equal(50, Data(s)[0].GetProperty("x").GetArrayLength());
        var e = Assert.Throws<ArgumentException>(() => Charts.Scatter2D(randn(10, 3)));
        Assert.Contains("[10, 3]", e.Message);
    }
}
