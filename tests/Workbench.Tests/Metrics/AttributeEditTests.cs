using Workbench.Data;
using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

public class AttributeEditTests
{
    static readonly double[] Ranges = { 2, 1, 1, 2, 1, 1, 1, 1, 2, 2, 2 };

    /// <summary>An exact factor reader for rendered faces: it looks each image up among the faces rendered so far.</summary>
    sealed class ExactReader
    {
        readonly Dictionary<string, double[]> known = new();

        public Tensor Render(IReadOnlyList<FaceFactors> faces)
        {
            var images = ProceduralFaces.RenderBatch(faces, 32);
            for (int i = 0; i < faces.Count; i++) known[Key(images[i])] = faces[i].ToArray();
            return images;
        }

        public Tensor Read(Tensor images) =>
            tensor(Enumerable.Range(0, (int)images.shape[0]).SelectMany(i => known[Key(images[i])]).ToArray(), new long[] { images.shape[0], Ranges.Length });

        static string Key(Tensor image) => Convert.ToBase64String(image.contiguous().data<byte>().ToArray());
    }

    static Tensor Pixels(Tensor images) => images.to(ScalarType.Float64).flatten(1);

    [Fact]
    public void APureExpressionEditAchievesItsStrengthAndLeaksNothing()
    {
        using var scope = NewDisposeScope();
        var reader = new ExactReader();
        var faces = ProceduralFaces.SampleFactors(6, seed: 3).Select(f => f with { Expression = -0.5, SkinTone = 0.3, BrowAngle = 0 }).ToArray();
        var before = reader.Render(faces);
        var edits = new[] { 0.5, 1.0 }.Select(s => (s, reader.Render(faces.Select(f => f with { Expression = f.Expression + s }).ToArray()))).ToList();
        var rows = AttributeEdit.Measure(reader.Read, Ranges, FaceFactors.IndexOf("expression"), Pixels, before, edits);
        Assert.Equal(new[] { 0.5, 1.0 }, rows.Select(r => Math.Round(r.Achieved, 12)));
        Assert.All(rows, r => Assert.Equal(0.0, r.MeanLeak));
        Assert.All(rows, r => Assert.InRange(r.IdentityShift, 1e-6, 0.9));

        // The same edit that also darkens the skin by 0.2 and raises the brows by 0.4 leaks 0.2 range units into each
        // of those two factors (skin tone spans [0, 1], brow angle [−1, 1]) and nothing into the other eight.
        var leaky = AttributeEdit.Measure(reader.Read, Ranges, 0, Pixels, before,
            new[] { (0.5, reader.Render(faces.Select(f => f with { Expression = 0.0, SkinTone = 0.5, BrowAngle = 0.4 }).ToArray())) }).Single();
        Assert.Equal(0.5, leaky.Achieved, 12);
        Assert.Equal(0.2, leaky.Leak[FaceFactors.IndexOf("skin_tone")], 12);
        Assert.Equal(0.2, leaky.Leak[FaceFactors.IndexOf("brow_angle")], 12);
        Assert.Equal(0.04, leaky.MeanLeak, 12);
    }

    [Fact]
    public void IdentityShiftIsZeroForNoEditAndLargeForAnotherFace()
    {
        using var scope = NewDisposeScope();
        var reader = new ExactReader();
        var faces = ProceduralFaces.SampleFactors(8, seed: 4);
        var before = reader.Render(faces);
        var rows = AttributeEdit.Measure(reader.Read, Ranges, 0, Pixels, before,
            new[] { (0.0, before.clone()), (1.0, before.roll(1, 0)) });
        Assert.Equal(0.0, rows[0].IdentityShift);
        Assert.Equal(0.0, rows[0].Achieved);
        Assert.True(rows[1].IdentityShift > 0.5, $"identity shift to another face {rows[1].IdentityShift}");
    }
}
