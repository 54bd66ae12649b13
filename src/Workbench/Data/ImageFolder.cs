using System.Text;
using SkiaSharp;
using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>
/// A folder of images as a dataset (CelebA, FFHQ, your own photos): every .png/.jpg/.jpeg/.webp/.bmp below the folder
/// (recursively, hidden files and folders skipped), decoded with SkiaSharp, center-cropped to a square and resized to
/// size x size, as RGB uint8 [N, 3, S, S]. When every image lies in a sub-folder, the top-level sub-folder is the
/// class (labels index <see cref="ImageDataset.ClassNames"/>, sorted by ordinal name, as torchvision's ImageFolder);
/// images directly in the folder mean no labels. Files are read in ordinal order of their relative paths.
/// </summary>
public static class ImageFolder
{
    public static readonly string[] Extensions = { ".png", ".jpg", ".jpeg", ".webp", ".bmp" };

    /// <summary>
    /// Loads the images under <paramref name="folder"/> (a path, or a dataset name looked up like any dataset:
    /// <c>data/&lt;name&gt;/</c>, <c>$WORKBENCH_DATA/&lt;name&gt;/</c>, …).
    /// <paramref name="train"/>: null for every image; true/false for a fixed split where an image is in the test
    /// split when a 64-bit FNV-1a hash of its relative path falls in the first <paramref name="testFraction"/> of the
    /// range, so the split never changes between runs or machines, and adding images does not move the others.
    /// <paramref name="skipUndecodable"/>: drop files SkiaSharp cannot decode with a warning on <paramref name="log"/>
    /// (default stderr) instead of throwing an error naming the first such file.
    /// </summary>
    public static ImageDataset Load(string folder, int size, bool? train = null, double testFraction = 0.1,
        bool skipUndecodable = false, TextWriter? log = null, string? name = null)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "image size must be at least 1");
        if (testFraction is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "must be in [0, 1]");
        log ??= Console.Error;
        var root = Resolve(folder);
        var files = ListImages(root);
        if (train is bool t) files = files.Where(f => IsTest(f.Relative, testFraction) != t).ToList();
        if (files.Count == 0)
            throw new DatasetNotFoundException($"{root}: no images ({string.Join(", ", Extensions)}) found" +
                                               (train is null ? "" : $" in the {(train.Value ? "train" : "test")} split"));

        bool labelled = files.All(f => f.Relative.Contains('/'));
        var classNames = labelled ? files.Select(f => TopFolder(f.Relative)).Distinct().Order(StringComparer.Ordinal).ToList() : null;

        // Decoded straight into one tensor: CelebA at 64x64 (2.5 GB) is more than a .NET byte[] can hold.
        int pixels = 3 * size * size;
        var all = empty(new long[] { files.Count, 3, size, size }, ScalarType.Byte);
        var errors = new string?[files.Count];
        int decoded = 0;
        bool report = files.Count >= 2000;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => new byte[pixels],
            (i, _, buffer) =>
            {
                try
                {
                    DecodeSquare(files[i].Path, size, buffer);
                    using var src = tensor(buffer, new long[] { 3, size, size }, ScalarType.Byte);
                    using var dst = all[i];
                    dst.copy_(src);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { errors[i] = e.Message; }
                int done = Interlocked.Increment(ref decoded);
                if (report && done % (files.Count / 10) == 0)
                    lock (log) log.WriteLine($"{root}: decoded {done}/{files.Count} images");
                return buffer;
            },
            _ => { });

        var keep = Enumerable.Range(0, files.Count).Where(i => errors[i] is null).ToList();
        var images = all;
        if (keep.Count < files.Count)
        {
            var bad = Enumerable.Range(0, files.Count).Where(i => errors[i] is not null).ToList();
            if (!skipUndecodable)
            {
                all.Dispose();
                throw new InvalidDataException(
                    $"{errors[bad[0]]}" + (bad.Count > 1 ? $" (and {bad.Count - 1} more undecodable files)" : "") +
                    "; fix or remove the file, or pass skipUndecodable: true to skip such files with a warning");
            }
            foreach (var i in bad) log.WriteLine($"warning: skipping {errors[i]}");
            if (keep.Count == 0)
            {
                all.Dispose();
                throw new InvalidDataException($"{root}: none of the {files.Count} images could be decoded");
            }
            using var ids = tensor(keep.Select(i => (long)i).ToArray(), ScalarType.Int64);
            images = all.index_select(0, ids);
            all.Dispose();
        }
        Tensor? labels = classNames is null
            ? null
            : tensor(keep.Select(i => (long)classNames.IndexOf(TopFolder(files[i].Relative))).ToArray(), ScalarType.Int64);
        var split = train is null ? "" : train.Value ? "/train" : "/test";
        return new ImageDataset((name ?? Path.GetFileName(root.TrimEnd('/'))) + split, images, labels) { ClassNames = classNames };
    }

    /// <summary>
    /// Registers <paramref name="name"/> in <see cref="Datasets"/> as the images under <paramref name="folder"/> at
    /// <paramref name="size"/> x <paramref name="size"/>, with the hash split of <see cref="Load"/>:
    /// e.g. <c>ImageFolder.Register("celeba64", "celeba", 64)</c> then <c>Datasets.Load("celeba64")</c>.
    /// </summary>
    public static void Register(string name, string folder, int size, double testFraction = 0.1, bool skipUndecodable = false) =>
        Datasets.Register(name, train => Load(folder, size, train, testFraction, skipUndecodable, name: name));

    /// <summary>An existing directory as given, else the first <c>&lt;search path&gt;/&lt;folder&gt;</c> of <see cref="DatasetResolver.SearchPath"/>.</summary>
    public static string Resolve(string folder)
    {
        if (Directory.Exists(folder)) return Path.GetFullPath(folder);
        var candidates = Path.IsPathRooted(folder) ? new[] { folder } : DatasetResolver.SearchPath(folder);
        return candidates.FirstOrDefault(Directory.Exists)
               ?? throw new DatasetNotFoundException(
                   $"Image folder '{folder}' not found. Looked in:\n  {string.Join("\n  ", candidates)}\n" +
                   $"Put the images (any sub-folders are classes) in data/{folder}/ or set {DatasetResolver.EnvironmentVariable}.");
    }

    /// <summary>The images under <paramref name="root"/>: full path and path relative to root with '/' separators, ordinal order.</summary>
    public static List<(string Path, string Relative)> ListImages(string root) =>
        Directory.EnumerateFiles(root, "*", new EnumerationOptions
            {
                RecurseSubdirectories = true, IgnoreInaccessible = true,
                AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            })
            .Where(p => Extensions.Contains(System.IO.Path.GetExtension(p), StringComparer.OrdinalIgnoreCase))
            .Select(p => (Path: p, Relative: System.IO.Path.GetRelativePath(root, p).Replace('\\', '/')))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// Decodes one image into <paramref name="rgb"/> (planar R, G, B, each size x size): the centered square of side
    /// min(width, height) is halved by 2x2 box averaging while it is at least twice size (no aliasing on large
    /// reductions), then resampled to size x size with Mitchell's cubic. JPEGs are first decoded at the smallest scale k/8 that
    /// still covers the target. Transparent pixels are composited over black.
    /// </summary>
    public static void DecodeSquare(string path, int size, Span<byte> rgb)
    {
        if (rgb.Length != 3 * size * size) throw new ArgumentException($"buffer holds {rgb.Length} bytes, need {3 * size * size}", nameof(rgb));
        // A FIFO, socket or device reports no length, and opening a FIFO would wait for a writer forever.
        if (new FileInfo(path).Length == 0) throw new InvalidDataException($"{path}: empty or not a regular file (a FIFO, socket or device)");
        using var codec = SKCodec.Create(path, out var created)
                          ?? throw new InvalidDataException($"{path}: not a decodable image ({created})");
        var full = codec.Info;
        // JPEG decodes at k/8 scale at a fraction of the cost (scaled IDCT); take the smallest scale that still covers size.
        var dims = new SKSizeI(full.Width, full.Height);
        for (int k = 1; k < 8; k++)
        {
            var d = codec.GetScaledDimensions(k / 8f);
            if (Math.Min(d.Width, d.Height) >= size) { dims = d; break; }
        }
        var info = new SKImageInfo(dims.Width, dims.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{path}: could not decode the image ({result}); the file is truncated or corrupt");

        // The centred square, halved (2x2 box averages) while it is at least twice the target, then resampled to
        // size x size with Mitchell's cubic (a ratio below 2, or an enlargement): a box pyramid as mipmaps build,
        // without building the levels we do not use.
        int side = Math.Min(dims.Width, dims.Height);
        var square = new SKBitmap();
        if (!bitmap.ExtractSubset(square, SKRectI.Create((dims.Width - side) / 2, (dims.Height - side) / 2, side, side)))
            throw new InvalidOperationException($"{path}: SkiaSharp could not crop the image");
        try
        {
            while (square.Width >= 2 * size)
            {
                var half = new SKBitmap(new SKImageInfo(square.Width / 2, square.Height / 2, SKColorType.Rgba8888, SKAlphaType.Premul));
                square.ScalePixels(half, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
                square.Dispose();
                square = half;
            }
            if (square.Width != size || square.RowBytes != size * 4)
            {
                // (Mitchell's cubic is not interpolating, so an equal-size crop is copied as is.)
                var resized = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
                square.ScalePixels(resized, square.Width == size
                    ? new SKSamplingOptions(SKFilterMode.Nearest)
                    : new SKSamplingOptions(SKCubicResampler.Mitchell));
                square.Dispose();
                square = resized;
            }
            // Premultiplied bytes are the colour composited over black; square is now size x size, rows packed.
            var rgba = square.GetPixelSpan();
            if (square.RowBytes != size * 4) throw new InvalidOperationException($"{path}: unexpected row stride {square.RowBytes}");
            int plane = size * size;
            for (int p = 0; p < plane; p++)
            {
                rgb[p] = rgba[4 * p];
                rgb[plane + p] = rgba[4 * p + 1];
                rgb[2 * plane + p] = rgba[4 * p + 2];
            }
        }
        finally { square.Dispose(); }
    }

    static string TopFolder(string relative) => relative[..relative.IndexOf('/')];

    /// <summary>True when the image belongs to the test split: FNV-1a (64-bit) of the UTF-8 relative path, as a fraction of 2^64, below <paramref name="fraction"/>.</summary>
    internal static bool IsTest(string relative, double fraction)
    {
        ulong h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(relative)) { h ^= b; h *= 1099511628211UL; }
        return h / 18446744073709551616.0 < fraction;
    }
}
