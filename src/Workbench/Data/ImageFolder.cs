using System.Runtime.InteropServices;
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

        int pixels = 3 * size * size;
        var data = new byte[(long)files.Count * pixels];
        var errors = new string?[files.Count];
        int decoded = 0;
        bool report = files.Count >= 2000;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            try { DecodeSquare(files[i].Path, size, data.AsSpan(i * pixels, pixels)); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { errors[i] = e.Message; }
            int done = Interlocked.Increment(ref decoded);
            if (report && done % (files.Count / 10) == 0)
                lock (log) log.WriteLine($"{root}: decoded {done}/{files.Count} images");
        });

        var keep = Enumerable.Range(0, files.Count).Where(i => errors[i] is null).ToList();
        if (keep.Count < files.Count)
        {
            var bad = Enumerable.Range(0, files.Count).Where(i => errors[i] is not null).ToList();
            if (!skipUndecodable)
                throw new InvalidDataException(
                    $"{errors[bad[0]]}" + (bad.Count > 1 ? $" (and {bad.Count - 1} more undecodable files)" : "") +
                    "; fix or remove the file, or pass skipUndecodable: true to skip such files with a warning");
            foreach (var i in bad) log.WriteLine($"warning: skipping {errors[i]}");
            if (keep.Count == 0) throw new InvalidDataException($"{root}: none of the {files.Count} images could be decoded");
        }

        var kept = new byte[(long)keep.Count * pixels];
        for (int k = 0; k < keep.Count; k++) Buffer.BlockCopy(data, keep[k] * pixels, kept, k * pixels, pixels);
        var images = tensor(kept, new long[] { keep.Count, 3, size, size }, ScalarType.Byte);
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
    /// min(width, height) is resampled to size x size, with trilinear mipmapped filtering when shrinking (no aliasing
    /// on large reductions) and Mitchell cubic when enlarging. JPEGs are first decoded at the smallest of 1/2, 1/4, 1/8
    /// scale that still covers the target. Transparent pixels are composited over black.
    /// </summary>
    public static void DecodeSquare(string path, int size, Span<byte> rgb)
    {
        if (rgb.Length != 3 * size * size) throw new ArgumentException($"buffer holds {rgb.Length} bytes, need {3 * size * size}", nameof(rgb));
        using var codec = SKCodec.Create(path, out var created)
                          ?? throw new InvalidDataException($"{path}: not a decodable image ({created})");
        var full = codec.Info;
        var dims = codec.GetScaledDimensions(Math.Min(1f, (float)size / Math.Min(full.Width, full.Height)));
        if (Math.Min(dims.Width, dims.Height) < size) dims = new SKSizeI(full.Width, full.Height);
        var info = new SKImageInfo(dims.Width, dims.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{path}: could not decode the image ({result}); the file is truncated or corrupt");

        // The centred square as an image of its own, so filtering never reaches the cropped-off pixels.
        int side = Math.Min(dims.Width, dims.Height);
        using var whole = SKImage.FromBitmap(bitmap);
        using var image = whole.Subset(SKRectI.Create((dims.Width - side) / 2, (dims.Height - side) / 2, side, side))
                          ?? throw new InvalidOperationException($"{path}: SkiaSharp could not crop the image");
        var target = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(target)
                            ?? throw new InvalidOperationException($"SkiaSharp could not create a {size}x{size} surface");
        var sampling = side > size
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : side == size ? new SKSamplingOptions(SKFilterMode.Nearest) : new SKSamplingOptions(SKCubicResampler.Mitchell);
        surface.Canvas.Clear(SKColors.Black);
        surface.Canvas.DrawImage(image, SKRect.Create(0, 0, size, size), sampling);
        surface.Canvas.Flush();

        var rgba = new byte[size * size * 4];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            if (!surface.ReadPixels(target, handle.AddrOfPinnedObject(), size * 4, 0, 0))
                throw new InvalidOperationException($"{path}: SkiaSharp could not read back the resized pixels");
        }
        finally { handle.Free(); }
        int plane = size * size;
        for (int p = 0; p < plane; p++)
        {
            rgb[p] = rgba[4 * p];
            rgb[plane + p] = rgba[4 * p + 1];
            rgb[2 * plane + p] = rgba[4 * p + 2];
        }
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
