using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

public class ProceduralFacesTests
{
    static byte[] Bytes(Tensor t) => t.contiguous().data<byte>().ToArray();
    static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();

    [Fact]
    public void GenerateIsDeterministicAndDependsOnTheSeed()
    {
        using var a = ProceduralFaces.Generate(6, 32, seed: 7);
        using var b = ProceduralFaces.Generate(6, 32, seed: 7);
        using var c = ProceduralFaces.Generate(6, 32, seed: 8);
        Assert.Equal(Bytes(a.Images), Bytes(b.Images));
        Assert.Equal(Floats(a.Factors!), Floats(b.Factors!));
        Assert.Equal(a.Labels!.data<long>().ToArray(), b.Labels!.data<long>().ToArray());
        Assert.NotEqual(Bytes(a.Images), Bytes(c.Images));
        Assert.NotEqual(Floats(a.Factors!), Floats(c.Factors!));
    }

    [Fact]
    public void FaceIDependsOnlyOnSeedAndIndex()
    {
        // Per-index seeds: a prefix of a larger set is the smaller set.
        using var small = ProceduralFaces.Generate(3, 16, seed: 4);
        using var large = ProceduralFaces.Generate(5, 16, seed: 4);
        Assert.Equal(Bytes(small.Images), Bytes(large.Images[..3]));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(40)]
    [InlineData(64)]
    public void GenerateHasTheDocumentedShapesTypesAndLabels(int size)
    {
        using var ds = ProceduralFaces.Generate(4, size, seed: 0);
        Assert.Equal(new long[] { 4, 3, size, size }, ds.Images.shape);
        Assert.Equal(ScalarType.Byte, ds.Images.dtype);
        Assert.Equal(new long[] { 4, FaceFactors.Count }, ds.Factors!.shape);
        Assert.Equal(ScalarType.Float32, ds.Factors.dtype);
        Assert.Equal(FaceFactors.Names, ds.FactorNames);
        Assert.Equal(new[] { "frown", "neutral", "smile" }, ds.ClassNames);
        var labels = ds.Labels!.data<long>().ToArray();
        var f = Floats(ds.Factors);
        for (int i = 0; i < 4; i++)
            Assert.Equal(ProceduralFaces.ExpressionClass(f[i * FaceFactors.Count]), labels[i]);
        // A drawn picture, not a blank: many distinct colours and a wide value range in each image.
        for (int i = 0; i < 4; i++)
        {
            var img = Bytes(ds.Images[i]);
            Assert.True(img.Max() - img.Min() > 150, $"image {i} spans only {img.Min()}..{img.Max()}");
            Assert.True(img.Distinct().Count() > 40);
        }
    }

    [Fact]
    public void RenderIsChannelLastAndAgreesWithGenerate()
    {
        int size = 24;
        using var ds = ProceduralFaces.Generate(1, size, seed: 3);
        var face = ProceduralFaces.SampleFactors(1, 3)[0];
        var hwc = ProceduralFaces.Render(face, size);
        Assert.Equal(size * size * 3, hwc.Length);
        var chw = Bytes(ds.Images[0]);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int ch = 0; ch < 3; ch++)
                    Assert.Equal(chw[ch * size * size + y * size + x], hwc[(y * size + x) * 3 + ch]);
    }

    [Fact]
    public void BadSizesFactorsAndNamesAreRejectedWithTheirName()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralFaces.Render(FaceFactors.Middle, 15));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralFaces.Render(FaceFactors.Middle with { EyeSize = 1.5 }, 32));
        Assert.Contains("eye_size", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralFaces.Render(FaceFactors.Middle with { Expression = double.NaN }, 32));
        var n = Assert.Throws<ArgumentException>(() => ProceduralFaces.Traverse(FaceFactors.Middle, "nose_size", new[] { 0.0 }, 32));
        Assert.Contains("expression", n.Message);
        Assert.Equal(FaceFactors.IndexOf("hair_color"), FaceFactors.IndexOf("HairColour"));
    }

    [Fact]
    public void FactorsAreUniformInTheirRangesAndIndependent()
    {
        var faces = ProceduralFaces.SampleFactors(2000, seed: 0);
        int n = faces.Length, k = FaceFactors.Count;
        var x = faces.Select(f => f.ToArray()).ToArray();
        var mean = new double[k];
        var sd = new double[k];
        for (int j = 0; j < k; j++)
        {
            var (lo, hi) = FaceFactors.RangeOf(FaceFactors.Names[j]);
            var col = x.Select(r => r[j]).ToArray();
            Assert.All(col, v => Assert.InRange(v, lo, hi));
            mean[j] = col.Average();
            sd[j] = Math.Sqrt(col.Select(v => (v - mean[j]) * (v - mean[j])).Sum() / (n - 1));
            // Uniform: mean (lo+hi)/2 (sd of the estimate ≈ 0.0065 (hi-lo)), sd (hi-lo)/sqrt(12), and every fifth filled.
            Assert.InRange(mean[j], (lo + hi) / 2 - 0.03 * (hi - lo), (lo + hi) / 2 + 0.03 * (hi - lo));
            Assert.InRange(sd[j], 0.9 * (hi - lo) / Math.Sqrt(12), 1.1 * (hi - lo) / Math.Sqrt(12));
            for (int b = 0; b < 5; b++)
            {
                double frac = col.Count(v => v >= lo + (hi - lo) * b / 5 && v < lo + (hi - lo) * (b + 1) / 5) / (double)n;
                Assert.InRange(frac, 0.15, 0.25);
            }
        }
        for (int a = 0; a < k; a++)
            for (int b = a + 1; b < k; b++)
            {
                double cov = x.Sum(r => (r[a] - mean[a]) * (r[b] - mean[b])) / (n - 1);
                double corr = cov / (sd[a] * sd[b]);
                Assert.True(Math.Abs(corr) < 0.1, $"{FaceFactors.Names[a]} vs {FaceFactors.Names[b]}: correlation {corr:F3}");
            }
        // Three expression classes, about a third each.
        for (int c = 0; c < 3; c++)
            Assert.InRange(faces.Count(f => ProceduralFaces.ExpressionClass(f.Expression) == c) / (double)n, 0.28, 0.39);
    }

    [Fact]
    public void ChangingTheExpressionChangesOnlyTheLowerHalfOfTheFace()
    {
        // Identity stays: background, hair, brows and eyes are identical; only pixels below the face centre change.
        int size = 32;
        foreach (var face in ProceduralFaces.SampleFactors(6, seed: 11).Append(FaceFactors.Middle))
        {
            var frown = ProceduralFaces.Render(face with { Expression = -1 }, size);
            var smile = ProceduralFaces.Render(face with { Expression = 1 }, size);
            var neutral = ProceduralFaces.Render(face with { Expression = 0 }, size);
            double centreRow = (0.53 + 0.04 * face.PoseY) * size; // the head's centre (ProceduralFaces.Renderer)
            int changed = 0;
            foreach (var other in new[] { smile, neutral })
                for (int i = 0; i < frown.Length; i++)
                    if (frown[i] != other[i])
                    {
                        changed++;
                        int row = i / 3 / size;
                        Assert.True(row > centreRow, $"pixel row {row} changed with the expression; face centre row {centreRow:F1}");
                    }
            Assert.True(changed > 20, $"only {changed} channel values changed between frown and smile");
        }
    }

    [Fact]
    public void TraverseSweepsOneFactorAndKeepsTheOthers()
    {
        var values = ProceduralFaces.Sweep("background", 4);
        Assert.Equal(new[] { 0.0, 1.0 / 3, 2.0 / 3, 1.0 }, values, new DoubleTolerance(1e-12));
        var baseFace = ProceduralFaces.SampleFactors(1, seed: 5)[0];
        using var imgs = ProceduralFaces.Traverse(baseFace, "background", values, 32);
        Assert.Equal(new long[] { 4, 3, 32, 32 }, imgs.shape);
        Assert.Equal(ScalarType.Byte, imgs.dtype);
        for (int i = 0; i < values.Length; i++)
        {
            var expected = ProceduralFaces.Render(baseFace with { Background = values[i] }, 32);
            var got = Bytes(imgs[i].permute(1, 2, 0));
            Assert.Equal(expected, got);
            if (i > 0) Assert.NotEqual(Bytes(imgs[i - 1]), Bytes(imgs[i]));
        }
        // The background factor moves the corner pixel; the expression traversal leaves it alone.
        using var expr = ProceduralFaces.Traverse(baseFace, "expression", ProceduralFaces.Sweep("expression", 3), 32);
        Assert.NotEqual(Bytes(expr[0]), Bytes(expr[2]));
        Assert.Equal(Bytes(expr[0, .., 0, 0]), Bytes(expr[2, .., 0, 0]));
        Assert.NotEqual(Bytes(imgs[0, .., 0, 0]), Bytes(imgs[3, .., 0, 0]));
    }

    [Fact]
    public void TrainAndTestSplitsAreDifferentFaces()
    {
        using var train = ProceduralFaces.Generate(4, 16, ProceduralFaces.TrainSeed);
        using var test = ProceduralFaces.Generate(4, 16, ProceduralFaces.TestSeed);
        var a = Floats(train.Factors!);
        var b = Floats(test.Factors!);
        for (int i = 0; i < a.Length; i++) Assert.NotEqual(a[i], b[i]);
        Assert.NotEqual(Bytes(train.Images), Bytes(test.Images));
    }

    [Fact]
    public void DatasetsLoadsTheRegisteredFaces()
    {
        Assert.Contains("faces32", Datasets.Names);
        Assert.Contains("faces64", Datasets.Names);
        using var test = Datasets.Load("faces32", train: false);
        Assert.Equal("faces32/test", test.Name);
        Assert.Equal(ProceduralFaces.TestCount, test.Count);
        Assert.Equal(new long[] { ProceduralFaces.TestCount, 3, 32, 32 }, test.Images.shape);
        using var expected = ProceduralFaces.Generate(3, 32, ProceduralFaces.TestSeed);
        Assert.Equal(Bytes(expected.Images), Bytes(test.Images[..3]));
        Assert.Equal(ProceduralFaces.ClassNames, test.ClassNames);
    }

    sealed class DoubleTolerance(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double d) => 0;
    }
}
