using System.Net;
using SkiaSharp;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Plots;

/// <summary>The value range of float images, named after <see cref="Workbench.Data.Preprocess"/>'s conversions.</summary>
public enum PixelRange
{
    /// <summary>0…255 (uint8 tensors, or floats on that scale).</summary>
    Byte,
    /// <summary>[0, 1] (<c>Preprocess.ToUnit</c>).</summary>
    Unit,
    /// <summary>[-1, 1] (<c>Preprocess.ToSigned</c>, GANs).</summary>
    Signed,
    /// <summary>[-0.5, 0.5] (<c>Preprocess.ToFlowInput</c>, Glow's convention).</summary>
    Flow,
}

/// <summary>
/// A grid of images as a PNG that displays itself (image/png, and text/html as an inline image), like torchvision's
/// <c>make_grid</c> plus labels: images [N, C, H, W] (C = 1 or 3; [N, H, W] is grey) laid out row by row in
/// <see cref="Columns"/> columns, optional row labels on the left and column labels on top, tiny images upscaled
/// by an integer factor (nearest neighbour, so pixels stay sharp). The pixels are copied out of the tensor when the
/// grid is made, so the tensor may be disposed afterwards.
/// </summary>
[TypeFormatterSource(typeof(ImageGridFormatterSource), PreferredMimeTypes = new[] { "image/png", "text/html" })]
public sealed class ImageGrid
{
    readonly byte[] _rgb; // [N, H, W, 3]
    readonly string[]? _rowLabels, _columnLabels;
    byte[]? _png;

    /// <param name="images">[N, C, H, W] or [N, H, W]; uint8, or floating point with <paramref name="range"/> declared.</param>
    /// <param name="columns">Images per row (fewer when there are fewer images).</param>
    /// <param name="range">The value range of float images (required for them; uint8 is always 0…255).</param>
    /// <param name="rowLabels">One label per row, drawn on the left.</param>
    /// <param name="columnLabels">One label per column, drawn on top.</param>
    /// <param name="scale">Integer upscaling; 0 picks one that makes each image at least 64 pixels tall.</param>
    /// <param name="padding">Pixels between images.</param>
    /// <param name="title">A title line above the grid.</param>
    public ImageGrid(Tensor images, int columns = 8, PixelRange? range = null, IReadOnlyList<string>? rowLabels = null,
        IReadOnlyList<string>? columnLabels = null, int scale = 0, int padding = 2, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1");
        if (scale < 0) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be 0 (auto) or positive");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must be non-negative");
        var shape = images.shape;
        if (shape.Length is not (3 or 4))
            throw new ArgumentException($"images has shape [{string.Join(", ", shape)}]: expected [N, C, H, W] or [N, H, W]", nameof(images));
        long n = shape[0], c = shape.Length == 4 ? shape[1] : 1, h = shape[^2], w = shape[^1];
        if (n < 1 || h < 1 || w < 1)
            throw new ArgumentException($"images has shape [{string.Join(", ", shape)}]: nothing to show", nameof(images));
        if (c is not (1 or 3))
            throw new ArgumentException($"images has shape [{string.Join(", ", shape)}]: {c} channels, expected 1 (grey) or 3 (RGB)", nameof(images));
        if (n * h * w * 3 > int.MaxValue / 2)
            throw new ArgumentException($"images has shape [{string.Join(", ", shape)}]: too many pixels for one grid", nameof(images));

        Count = (int)n; Channels = (int)c; ImageHeight = (int)h; ImageWidth = (int)w;
        Columns = Math.Min(columns, Count);
        Rows = (Count + Columns - 1) / Columns;
        Scale = scale > 0 ? scale : Math.Max(1, (int)Math.Ceiling(64.0 / ImageHeight));
        Padding = padding;
        Title = title;
        if (rowLabels is not null && rowLabels.Count != Rows)
            throw new ArgumentException($"{rowLabels.Count} row labels for {Rows} rows ({Count} images in {Columns} columns)", nameof(rowLabels));
        if (columnLabels is not null && columnLabels.Count != Columns)
            throw new ArgumentException($"{columnLabels.Count} column labels for {Columns} columns", nameof(columnLabels));
        _rowLabels = rowLabels?.ToArray();
        _columnLabels = columnLabels?.ToArray();
        _rgb = ToRgbBytes(images, range);
    }

    public int Count { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Channels { get; }
    public int ImageHeight { get; }
    public int ImageWidth { get; }
    public int Scale { get; }
    public int Padding { get; }
    public string? Title { get; }
    public IReadOnlyList<string>? RowLabels => _rowLabels;
    public IReadOnlyList<string>? ColumnLabels => _columnLabels;

    /// <summary>
    /// A latent traversal: rows = latent dimensions (or factors), columns = values. <paramref name="images"/> is
    /// [rows·columns, C, H, W] in row-major order or [rows, columns, C, H, W].
    /// </summary>
    public static ImageGrid Traversal(Tensor images, int rows, int columns, IReadOnlyList<string>? rowLabels = null,
        IReadOnlyList<string>? columnLabels = null, PixelRange? range = null, int scale = 0, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (rows < 1 || columns < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"rows ({rows}) and columns ({columns}) must be positive");
        var shape = images.shape;
        if (shape.Length == 5)
        {
            if (shape[0] != rows || shape[1] != columns)
                throw new ArgumentException($"images has shape [{string.Join(", ", shape)}] but rows = {rows}, columns = {columns}", nameof(images));
            using var flat = images.reshape(rows * columns, shape[2], shape[3], shape[4]);
            return new ImageGrid(flat, columns, range, rowLabels, columnLabels, scale, title: title);
        }
        if (shape.Length is 3 or 4 && shape[0] != (long)rows * columns)
            throw new ArgumentException($"images has shape [{string.Join(", ", shape)}]: expected {rows}·{columns} = {rows * columns} images", nameof(images));
        return new ImageGrid(images, columns, range, rowLabels, columnLabels, scale, title: title);
    }

    /// <summary>
    /// One row per tensor, each [columns, C, H, W] with the same shape (e.g. samples at temperatures 0, 0.5, 0.7, 1:
    /// one batch per row, labelled "T = 0.7").
    /// </summary>
    public static ImageGrid FromRows(IReadOnlyList<Tensor> rows, IReadOnlyList<string>? rowLabels = null,
        IReadOnlyList<string>? columnLabels = null, PixelRange? range = null, int scale = 0, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("no rows", nameof(rows));
        var first = rows[0].shape;
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i] is null || !rows[i].shape.SequenceEqual(first) || first.Length is not (3 or 4) || rows[i].dtype != rows[0].dtype)
                throw new ArgumentException(
                    $"row {i} has shape [{(rows[i] is null ? "null" : string.Join(", ", rows[i].shape))}] {rows[i]?.dtype}; every row must be [columns, C, H, W] like row 0 ([{string.Join(", ", first)}] {rows[0].dtype})",
                    nameof(rows));
        }
        using var scope = NewDisposeScope();
        var all = cat(rows.Select(r => r.detach().cpu()).ToArray(), 0);
        return new ImageGrid(all, (int)first[0], range, rowLabels, columnLabels, scale, title: title);
    }

    /// <summary>An interpolation strip: all images in one row, optionally labelled (e.g. "α = 0.25").</summary>
    public static ImageGrid Strip(Tensor images, IReadOnlyList<string>? labels = null, PixelRange? range = null, int scale = 0, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.shape.Length is not (3 or 4))
            throw new ArgumentException($"images has shape {Shapes.Of(images)}: expected [N, C, H, W] or [N, H, W]", nameof(images));
        return new ImageGrid(images, (int)Math.Max(1, images.shape[0]), range, null, labels, scale, title: title);
    }

    static byte[] ToRgbBytes(Tensor images, PixelRange? range)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = images.detach().cpu();
        if (x.dtype != ScalarType.Byte)
        {
            if (!x.is_floating_point())
                throw new ArgumentException($"images are {x.dtype}: pass uint8 images, or floating-point ones with a range", nameof(images));
            if (range is null)
                throw new ArgumentException($"images are {x.dtype}: declare their range (PixelRange.Unit for [0, 1], Signed for [-1, 1], Flow for [-0.5, 0.5], Byte for 0…255)", nameof(range));
            var (lo, hi) = range.Value switch
            {
                PixelRange.Byte => (0.0, 255.0),
                PixelRange.Unit => (0.0, 1.0),
                PixelRange.Signed => (-1.0, 1.0),
                PixelRange.Flow => (-0.5, 0.5),
                _ => throw new ArgumentOutOfRangeException(nameof(range)),
            };
            x = ((x.to(ScalarType.Float32) - lo) * (255.0 / (hi - lo))).nan_to_num(0).round().clamp(0, 255).to(ScalarType.Byte);
        }
        if (x.dim() == 3) x = x.unsqueeze(1);
        if (x.shape[1] == 1) x = x.expand(-1, 3, -1, -1);
        x = x.permute(0, 2, 3, 1).contiguous();
        return x.bytes.ToArray();
    }

    // ---- layout and rendering -------------------------------------------------------------------------------

    const float FontSize = 13;
    const int LabelGap = 6;

    sealed record Layout(int Width, int Height, int Left, int Top, int TileW, int TileH, bool Text);

    Layout? _layout;

    Layout Measure() => _layout ??= ComputeLayout();

    Layout ComputeLayout()
    {
        int tileW = ImageWidth * Scale, tileH = ImageHeight * Scale;
        using var font = Fonts.Create();
        int left = 0, top = 0;
        if (font is not null)
        {
            if (_rowLabels is not null) left = (int)Math.Ceiling(_rowLabels.Max(l => font.MeasureText(l))) + 2 * LabelGap;
            if (_columnLabels is not null) top += (int)Math.Ceiling(FontSize * 1.5);
            if (Title is not null) top += (int)Math.Ceiling(FontSize * 1.7);
        }
        int width = left + Columns * tileW + (Columns + 1) * Padding;
        int height = top + Rows * tileH + (Rows + 1) * Padding;
        // A title wider than the grid would be cut: widen the canvas instead (column labels are shortened to fit).
        if (font is not null && Title is not null)
            width = Math.Max(width, left + Padding + (int)Math.Ceiling(font.MeasureText(Title)) + LabelGap);
        return new Layout(width, height, left, top, tileW, tileH, font is not null);
    }

    /// <summary>The grid's pixel size as a PNG (including labels and padding).</summary>
    public (int Width, int Height) PixelSize { get { var l = Measure(); return (l.Width, l.Height); } }

    /// <summary>Where image <paramref name="index"/>'s top-left pixel lands in the PNG (for tests and overlays).</summary>
    public (int X, int Y) TileOrigin(int index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"0 ≤ index < {Count}");
        var l = Measure();
        int r = index / Columns, c = index % Columns;
        return (l.Left + Padding + c * (l.TileW + Padding), l.Top + Padding + r * (l.TileH + Padding));
    }

    /// <summary>The grid as PNG bytes (rendered once, then cached).</summary>
    public byte[] ToPng() => _png ??= Render();

    /// <summary>The PNG as base64 text.</summary>
    public string ToBase64Png() => Convert.ToBase64String(ToPng());

    /// <summary>Writes the PNG to a file (creating its folder).</summary>
    public void Save(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (dir is not null) Directory.CreateDirectory(dir);
        // written beside and renamed: a full disk or a crash leaves the previous file (or none), never a truncated PNG
        var partial = full + ".partial";
        try
        {
            File.WriteAllBytes(partial, ToPng());
            File.Move(partial, full, overwrite: true);
        }
        finally { if (File.Exists(partial)) File.Delete(partial); }
    }

    /// <summary>An inline &lt;img&gt; (data URI), with the labels as text when no font was found to draw them into the PNG.</summary>
    public string ToHtml()
    {
        var (w, _) = PixelSize;
        var alt = WebUtility.HtmlEncode(Title ?? $"{Count} images");
        var img = $"<img src=\"data:image/png;base64,{ToBase64Png()}\" alt=\"{alt}\" width=\"{w}\" style=\"image-rendering: pixelated; max-width: 100%;\"/>";
        if (Fonts.Available || (_rowLabels is null && _columnLabels is null && Title is null)) return $"<div class=\"workbench-image-grid\">{img}</div>";
        var caption = string.Join(" | ", new[]
        {
            Title,
            _rowLabels is null ? null : "rows: " + string.Join(", ", _rowLabels),
            _columnLabels is null ? null : "columns: " + string.Join(", ", _columnLabels),
        }.Where(s => s is not null));
        return $"<figure class=\"workbench-image-grid\">{img}<figcaption>{WebUtility.HtmlEncode(caption)}</figcaption></figure>";
    }

    byte[] Render()
    {
        var l = Measure();
        var info = new SKImageInfo(l.Width, l.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        bitmap.Erase(SKColors.White);
        var pixels = bitmap.GetPixelSpan();
        int stride = bitmap.RowBytes;
        int imgPixels = ImageHeight * ImageWidth * 3;
        for (int i = 0; i < Count; i++)
        {
            var (ox, oy) = TileOrigin(i);
            int src = i * imgPixels;
            for (int y = 0; y < l.TileH; y++)
            {
                int sy = y / Scale;
                int row = (oy + y) * stride;
                for (int x = 0; x < l.TileW; x++)
                {
                    int s = src + (sy * ImageWidth + x / Scale) * 3;
                    int d = row + (ox + x) * 4;
                    pixels[d] = _rgb[s]; pixels[d + 1] = _rgb[s + 1]; pixels[d + 2] = _rgb[s + 2]; pixels[d + 3] = 255;
                }
            }
        }
        if (l.Text) DrawLabels(bitmap, l);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    void DrawLabels(SKBitmap bitmap, Layout l)
    {
        using var font = Fonts.Create()!;
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { Color = new SKColor(40, 40, 40), IsAntialias = true };
        float y0 = 0;
        if (Title is not null)
        {
            y0 = FontSize * 1.7f;
            canvas.DrawText(Title, l.Left + Padding, FontSize * 1.2f, SKTextAlign.Left, font, paint);
        }
        if (_columnLabels is not null)
            for (int c = 0; c < Columns; c++)
            {
                var (x, _) = TileOrigin(c);
                canvas.DrawText(Fit(_columnLabels[c], l.TileW + Padding - 2, font), x + l.TileW / 2f, y0 + FontSize * 1.1f, SKTextAlign.Center, font, paint);
            }
        if (_rowLabels is not null)
            for (int r = 0; r < Rows; r++)
            {
                var (_, y) = TileOrigin(r * Columns);
                canvas.DrawText(_rowLabels[r], l.Left - LabelGap, y + l.TileH / 2f + FontSize * 0.35f, SKTextAlign.Right, font, paint);
            }
        canvas.Flush();
    }

    /// <summary>Shortens a label with an ellipsis until it fits <paramref name="width"/> pixels.</summary>
    static string Fit(string label, float width, SKFont font)
    {
        if (font.MeasureText(label) <= width) return label;
        for (int n = label.Length - 1; n > 0; n--)
        {
            var s = label[..n] + "…";
            if (font.MeasureText(s) <= width) return s;
        }
        return "…";
    }

    public override string ToString() => $"ImageGrid({Count} images {Channels}x{ImageHeight}x{ImageWidth}, {Rows}x{Columns}, scale {Scale})";

    /// <summary>Finds a typeface SkiaSharp can draw with: the platform default, else a TrueType file in the usual folders.</summary>
    static class Fonts
    {
        static readonly Lazy<SKTypeface?> _typeface = new(Find);

        public static bool Available => _typeface.Value is not null;

        /// <summary>A fresh font (SKFont is not shared between threads), or null when no typeface was found.</summary>
        public static SKFont? Create() => _typeface.Value is { } tf ? new SKFont(tf, FontSize) : null;

        static SKTypeface? Find()
        {
            try
            {
                foreach (var family in new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Segoe UI" })
                {
                    var tf = SKTypeface.FromFamilyName(family);
                    if (Usable(tf)) return tf;
                }
                if (Usable(SKTypeface.Default)) return SKTypeface.Default;
                var dirs = new[]
                {
                    "/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".fonts"),
                    "/System/Library/Fonts", "/Library/Fonts", Environment.GetFolderPath(Environment.SpecialFolder.Fonts),
                };
                foreach (var dir in dirs.Where(d => d.Length > 0 && Directory.Exists(d)))
                {
                    var files = Directory.EnumerateFiles(dir, "*.ttf", SearchOption.AllDirectories)
                        .OrderBy(f => Path.GetFileName(f) is "DejaVuSans.ttf" or "LiberationSans-Regular.ttf" or "arial.ttf" ? 0 : 1).Take(50);
                    foreach (var f in files)
                    {
                        var tf = SKTypeface.FromFile(f);
                        if (Usable(tf)) return tf;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException) { }
            return null;
        }

        static bool Usable(SKTypeface? tf) => tf is not null && tf.GlyphCount > 0 && tf.ContainsGlyphs("Aa0");
    }
}

/// <summary>Formatters for <see cref="ImageGrid"/>: image/png (base64 of the PNG), text/html (inline image) and text/plain.</summary>
public sealed class ImageGridFormatterSource
{
    public IEnumerable<object> CreateTypeFormatters() => new object[]
    {
        new MimeFormatter<ImageGrid>("image/png", (g, w) => w.Write(g.ToBase64Png())),
        new MimeFormatter<ImageGrid>("text/html", (g, w) => w.Write(g.ToHtml())),
        new MimeFormatter<ImageGrid>("text/plain", (g, w) => w.Write(g.ToString())),
    };
}
