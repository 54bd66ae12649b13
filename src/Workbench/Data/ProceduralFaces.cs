using SkiaSharp;
using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>
/// The embedded default dataset: RGB cartoon faces rendered deterministically from a seed, each labelled with its
/// <see cref="FaceFactors"/> (independent, uniform), so traversals and attribute directions can be checked against
/// ground truth. Registered as the datasets "faces32" and "faces64" (train: seed 0, 20,000 faces; test: seed 1,
/// 2,000 faces). Drawn with SkiaSharp in resolution-independent unit coordinates, anti-aliased, at any size ≥ 16.
/// Face i of a set depends only on (seed, i), whatever the count or thread schedule. The factors are exact everywhere;
/// the pixels are bit-identical for a given SkiaSharp build and CPU (Skia's anti-aliasing may differ in the last
/// bit across CPU instruction sets).
/// </summary>
public static class ProceduralFaces
{
    /// <summary>Default number of faces in the train split of "faces32"/"faces64".</summary>
    public const int TrainCount = 20_000;

    /// <summary>Default number of faces in the test split.</summary>
    public const int TestCount = 2_000;

    /// <summary>Seed of the train split.</summary>
    public const int TrainSeed = 0;

    /// <summary>Seed of the test split.</summary>
    public const int TestSeed = 1;

    /// <summary>Smallest image size that still draws a readable face.</summary>
    public const int MinSize = 16;

    /// <summary>Labels: the expression binned into thirds of [-1, 1].</summary>
    public static readonly IReadOnlyList<string> ClassNames = new[] { "frown", "neutral", "smile" };

    /// <summary>Registers "faces32" and "faces64" with <see cref="Datasets"/> (called by its static constructor).</summary>
    public static void RegisterDatasets()
    {
        foreach (int size in new[] { 32, 64 })
            Datasets.Register($"faces{size}", train => train
                ? Generate(TrainCount, size, TrainSeed, $"faces{size}/train")
                : Generate(TestCount, size, TestSeed, $"faces{size}/test"));
    }

    /// <summary>The label of an expression value: 0 frown (&lt; -1/3), 1 neutral, 2 smile (&gt; 1/3).</summary>
    public static int ExpressionClass(double expression) => expression < -1.0 / 3 ? 0 : expression > 1.0 / 3 ? 2 : 1;

    /// <summary>The factors of faces 0..count-1 of the set with <paramref name="seed"/>; face i draws from its own
    /// generator seeded by (seed, i), so any prefix or index is reproducible on its own.</summary>
    public static FaceFactors[] SampleFactors(int count, int seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be >= 0");
        var f = new FaceFactors[count];
        for (int i = 0; i < count; i++)
            f[i] = FaceFactors.Sample(new Random(IndexSeed(seed, i)));
        return f;
    }

    /// <summary>
    /// Renders <paramref name="count"/> faces of <paramref name="size"/>x<paramref name="size"/>: Images uint8
    /// [N, 3, H, W], Factors float32 [N, 11] named by <see cref="FaceFactors.Names"/>, Labels the expression class
    /// (<see cref="ClassNames"/>). Rendering runs in parallel; the result depends only on (count, size, seed).
    /// </summary>
    public static ImageDataset Generate(int count, int size, int seed, string? name = null)
    {
        CheckSize(size);
        var factors = SampleFactors(count, seed);
        var images = RenderMany(factors, size);
        var f = new float[count * FaceFactors.Count];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            var v = factors[i].ToArray();
            for (int j = 0; j < v.Length; j++) f[i * v.Length + j] = (float)v[j];
            labels[i] = ExpressionClass(factors[i].Expression);
        }
        // ImageDataset keeps these tensors (or CPU views of them); no dispose scope here.
        var imgT = tensor(images, new long[] { count, 3, size, size }, ScalarType.Byte);
        var labT = tensor(labels, new long[] { count }, ScalarType.Int64);
        var facT = tensor(f, new long[] { count, FaceFactors.Count }, ScalarType.Float32);
        return new ImageDataset(name ?? $"faces{size}/seed{seed}", imgT, labT, facT, FaceFactors.Names) { ClassNames = ClassNames };
    }

    /// <summary>Renders one face as RGB bytes in [H, W, 3] (row-major, channel last).</summary>
    public static byte[] Render(FaceFactors f, int size)
    {
        ArgumentNullException.ThrowIfNull(f);
        CheckSize(size);
        f.Validate();
        using var r = new Renderer(size);
        r.Draw(f);
        var hwc = new byte[size * size * 3];
        var px = r.Pixels;
        for (int p = 0; p < size * size; p++)
        {
            hwc[3 * p] = px[4 * p];
            hwc[3 * p + 1] = px[4 * p + 1];
            hwc[3 * p + 2] = px[4 * p + 2];
        }
        return hwc;
    }

    /// <summary>Renders faces as a uint8 tensor [N, 3, H, W].</summary>
    public static Tensor RenderBatch(IReadOnlyList<FaceFactors> faces, int size)
    {
        ArgumentNullException.ThrowIfNull(faces);
        CheckSize(size);
        return tensor(RenderMany(faces, size), new long[] { faces.Count, 3, size, size }, ScalarType.Byte);
    }

    /// <summary>
    /// Ground-truth traversal: <paramref name="baseFace"/> with the factor <paramref name="factorName"/> set to each of
    /// <paramref name="values"/> in turn, all other factors fixed. Returns uint8 [values.Length, 3, H, W].
    /// </summary>
    public static Tensor Traverse(FaceFactors baseFace, string factorName, double[] values, int size)
    {
        ArgumentNullException.ThrowIfNull(baseFace);
        ArgumentNullException.ThrowIfNull(values);
        FaceFactors.IndexOf(factorName);
        return RenderBatch(values.Select(v => baseFace.With(factorName, v)).ToArray(), size);
    }

    /// <summary>Evenly spaced values spanning the range of <paramref name="factorName"/>, for <see cref="Traverse"/>.</summary>
    public static double[] Sweep(string factorName, int steps)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), steps, "a sweep needs at least 2 steps");
        var (lo, hi) = FaceFactors.RangeOf(factorName);
        return Enumerable.Range(0, steps).Select(i => lo + (hi - lo) * i / (steps - 1)).ToArray();
    }

    static void CheckSize(int size)
    {
        if (size < MinSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Procedural faces need size >= {MinSize}, got {size}.");
    }

    // SplitMix64 finaliser over (seed, index): decorrelated, platform-independent per-face seeds.
    internal static int IndexSeed(int seed, int index)
    {
        ulong z = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)index * 0xBF58476D1CE4E5B9UL + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    // Renders into a CHW byte buffer, faces in parallel (each thread owns one Skia surface).
    static byte[] RenderMany(IReadOnlyList<FaceFactors> faces, int size)
    {
        foreach (var f in faces) f.Validate();
        int plane = size * size;
        var chw = new byte[(long)faces.Count * 3 * plane];
        Parallel.For(0, faces.Count, () => new Renderer(size), (i, _, r) =>
        {
            r.Draw(faces[i]);
            var px = r.Pixels;
            long o = (long)i * 3 * plane;
            for (int p = 0; p < plane; p++)
            {
                chw[o + p] = px[4 * p];
                chw[o + plane + p] = px[4 * p + 1];
                chw[o + 2 * plane + p] = px[4 * p + 2];
            }
            return r;
        }, r => r.Dispose());
        return chw;
    }

    static SKColor Lerp(ReadOnlySpan<SKColor> palette, double t)
    {
        double x = Math.Clamp(t, 0, 1) * (palette.Length - 1);
        int i = Math.Min((int)x, palette.Length - 2);
        return Mix(palette[i], palette[i + 1], x - i);
    }

    static SKColor Mix(SKColor a, SKColor b, double u) =>
        new((byte)Math.Round(a.Red + (b.Red - a.Red) * u), (byte)Math.Round(a.Green + (b.Green - a.Green) * u),
            (byte)Math.Round(a.Blue + (b.Blue - a.Blue) * u));

    static SKColor Shade(SKColor c, double k) =>
        new((byte)Math.Round(c.Red * k), (byte)Math.Round(c.Green * k), (byte)Math.Round(c.Blue * k));

    static readonly SKColor[] SkinPalette =
    {
        new(255, 226, 200), new(240, 196, 152), new(214, 156, 104), new(164, 104, 62), new(104, 64, 40),
    };

    static readonly SKColor[] HairPalette =
    {
        new(28, 24, 24), new(78, 50, 30), new(128, 78, 40), new(170, 72, 36), new(222, 184, 100), new(236, 228, 200),
    };

    /// <summary>One Skia raster surface and its paints; draws a face in unit coordinates scaled to the image.</summary>
    sealed class Renderer : IDisposable
    {
        readonly int size;
        readonly SKBitmap bitmap;
        readonly SKCanvas canvas;
        readonly SKPaint fill = new() { IsAntialias = true, Style = SKPaintStyle.Fill };
        readonly SKPaint stroke = new() { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Round };

        public Renderer(int size)
        {
            this.size = size;
            bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
            canvas = new SKCanvas(bitmap);
        }

        public ReadOnlySpan<byte> Pixels => bitmap.GetPixelSpan();

        void Fill(SKColor c) => fill.Color = c;

        void Stroke(SKColor c, float width)
        {
            stroke.Color = c;
            stroke.StrokeWidth = width;
        }

        public void Draw(FaceFactors f)
        {
            canvas.ResetMatrix();
            canvas.Clear(SKColor.FromHsv((float)(270 * f.Background), 32, 92));
            canvas.Save();
            canvas.Scale(size);

            // Head geometry in units of the image side; the face is centred and then jittered/tilted.
            float cx = 0.5f + 0.05f * (float)f.PoseX, cy = 0.53f + 0.04f * (float)f.PoseY;
            float rx = 0.32f - 0.035f * (float)f.FaceShape, ry = 0.32f + 0.08f * (float)f.FaceShape;
            canvas.RotateDegrees(12f * (float)f.Rotation, cx, cy);

            var skin = Lerp(SkinPalette, f.SkinTone);
            var hair = Lerp(HairPalette, f.HairColor);
            var outline = Shade(skin, 0.55);
            float line = 0.018f;

            // Ears, then head with a thin darker outline.
            Fill(skin);
            Stroke(outline, line);
            foreach (float s in new[] { -1f, 1f })
            {
                canvas.DrawOval(cx + s * rx, cy + 0.01f, 0.045f, 0.065f, fill);
                canvas.DrawOval(cx + s * rx, cy + 0.01f, 0.045f, 0.065f, stroke);
            }
            canvas.DrawOval(cx, cy, rx, ry, fill);
            canvas.DrawOval(cx, cy, rx, ry, stroke);

            // Hair: a cap over the top of the head, bounded below by a hairline curving down at the temples.
            float hx = rx + 0.025f, hy = ry + 0.03f, top = cy - ry;
            float hairTop = top + 0.11f, hairSide = top + 0.23f;
            using (var head = new SKPath())
            using (var cap = new SKPath())
            {
                head.AddOval(new SKRect(cx - hx, cy - hy, cx + hx, cy + hy));
                cap.MoveTo(cx - hx - 0.01f, top - 0.1f);
                cap.LineTo(cx + hx + 0.01f, top - 0.1f);
                cap.LineTo(cx + hx, hairSide);
                cap.QuadTo(cx, 2 * hairTop - hairSide, cx - hx, hairSide);
                cap.LineTo(cx - hx - 0.01f, hairSide);
                cap.Close();
                canvas.Save();
                canvas.ClipPath(head, SKClipOperation.Intersect, antialias: true);
                Fill(hair);
                canvas.DrawPath(cap, fill);
                canvas.Restore();
            }

            // Eyes: white ellipse (width by eye size, height by openness), pupil, dark rim.
            float eyeY = cy - 0.005f, eyeDx = 0.12f;
            float erx = 0.04f + 0.045f * (float)f.EyeSize;
            float ery = erx * (0.15f + 0.85f * (float)f.EyeOpenness);
            var ink = new SKColor(34, 30, 38);
            foreach (float s in new[] { -1f, 1f })
            {
                float ex = cx + s * eyeDx;
                var eye = new SKRect(ex - erx, eyeY - ery, ex + erx, eyeY + ery);
                Fill(SKColors.White);
                canvas.DrawOval(eye, fill);
                // The pupil is squashed to the eye's height, so a half-shut eye shows a dark slit.
                float pr = 0.62f * erx;
                Fill(ink);
                canvas.DrawOval(ex, eyeY, pr, Math.Min(pr, ery), fill);
                Stroke(ink, 0.014f);
                canvas.DrawOval(eye, stroke);
            }

            // Brows: thick strokes above the eyes, tilted so the inner ends rise (+) or fall (-).
            float browY = eyeY - 0.1f, half = 0.06f;
            double a = 25 * Math.PI / 180 * f.BrowAngle;
            float bdx = half * (float)Math.Cos(a), bdy = half * (float)Math.Sin(a);
            Stroke(Mix(hair, ink, 0.55), 0.034f);
            foreach (float s in new[] { -1f, 1f })
            {
                float bx = cx + s * eyeDx;
                // Inner end (towards the nose) is at bx - s*bdx; it rises by bdy when BrowAngle > 0.
                canvas.DrawLine(bx - s * bdx, browY - bdy, bx + s * bdx, browY + bdy, stroke);
            }

            // Nose: a short shaded arc.
            Stroke(Shade(skin, 0.7), 0.018f);
            using (var nose = new SKPath())
            {
                nose.MoveTo(cx - 0.025f, cy + 0.075f);
                nose.QuadTo(cx, cy + 0.1f, cx + 0.025f, cy + 0.075f);
                canvas.DrawPath(nose, stroke);
            }

            // Mouth: the expression is its curvature. Both lips share the corners, which rise for a smile and fall for
            // a frown; the lower lip bends more than the upper one on a smile (an open grin) and less on a frown, so
            // the mouth opens in proportion to |expression| and is a closed line at 0.
            float my = cy + 0.19f, mw = 0.11f, k = 0.06f * (float)f.Expression;
            float kUpper = k > 0 ? 0.3f * k : k, kLower = k > 0 ? k : 0.3f * k;
            using (var mouth = new SKPath())
            {
                mouth.MoveTo(cx - mw, my - k);
                mouth.QuadTo(cx, my - k + 3 * kLower, cx + mw, my - k);
                mouth.QuadTo(cx, my - k + 3 * kUpper, cx - mw, my - k);
                mouth.Close();
                Fill(new SKColor(110, 24, 36));
                canvas.DrawPath(mouth, fill);
                Stroke(new SKColor(150, 40, 52), 0.03f);
                canvas.DrawPath(mouth, stroke);
            }
            canvas.Restore();
        }

        public void Dispose()
        {
            stroke.Dispose();
            fill.Dispose();
            canvas.Dispose();
            bitmap.Dispose();
        }
    }
}
