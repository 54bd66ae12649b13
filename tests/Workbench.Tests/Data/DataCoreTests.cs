using System.IO.Compression;
using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

public class DataCoreTests
{
    /// <summary>An IDX file of unsigned bytes with the given shape (big-endian header), for tests.</summary>
    internal static byte[] IdxBytes(byte[] data, params int[] shape)
    {
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0, 0, 0x08, (byte)shape.Length });
        foreach (var d in shape) ms.Write(new[] { (byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d });
        ms.Write(data);
        return ms.ToArray();
    }

    [Fact]
    public void IdxReadsRawAndGzippedWithTheirShape()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)i).ToArray();
        var dir = Directory.CreateTempSubdirectory("wb-idx").FullName;
        var raw = Path.Combine(dir, "x-idx3-ubyte");
        File.WriteAllBytes(raw, IdxBytes(data, 2, 3, 4));
        var gz = raw + ".gz";
        using (var f = File.Create(gz)) using (var z = new GZipStream(f, CompressionLevel.Fastest)) z.Write(IdxBytes(data, 2, 3, 4));
        foreach (var p in new[] { raw, gz })
        {
            using var t = Idx.ReadBytes(p);
            Assert.Equal(new long[] { 2, 3, 4 }, t.shape);
            Assert.Equal(23, t[1, 2, 3].item<byte>());
        }
    }

    [Fact]
    public void IdxTruncatedFileNamesTheFile()
    {
        var p = Path.Combine(Directory.CreateTempSubdirectory("wb-idx").FullName, "bad-idx1-ubyte");
        File.WriteAllBytes(p, IdxBytes(new byte[5], 10));
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void MissingDatasetListsWhereItLooked()
    {
        var e = Assert.Throws<DatasetNotFoundException>(() => DatasetResolver.Locate("no-such-set", new[] { "a.bin" }));
        Assert.Contains("/usr/share/datasets/no-such-set", e.Message);
        Assert.Contains(DatasetResolver.EnvironmentVariable, e.Message);
    }

    [SkippableFact]
    public void FashionMnistTestSplitIsTheRealData()
    {
        RequiredData.RequireFashionMnist(new[] { "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" });
        using var test = Datasets.FashionMnist(train: false);
        Assert.Equal(new long[] { 10000, 1, 28, 28 }, test.Images.shape);
        using var counts = bincount(test.Labels!);
        Assert.All(counts.data<long>().ToArray(), c => Assert.Equal(1000, c)); // 1,000 test images per class
    }

    [SkippableFact]
    public void FashionMnist32IsFashionMnistInAZeroFrame()
    {
        RequiredData.RequireFashionMnist(new[] { "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" });
        using var scope = NewDisposeScope();
        using var test = Datasets.FashionMnist(train: false);
        using var padded = Datasets.Load("fashion-mnist-32", train: false);
        Assert.Equal(new long[] { 10000, 1, 32, 32 }, padded.Images.shape);
        Assert.Equal("fashion-mnist-32/test", padded.Name);
        Assert.True(Datasets.FashionMnist32Crop(padded.Images).eq(test.Images).all().item<bool>(), "the centre 28x28 must be Fashion-MNIST");
        Assert.Equal(0L, padded.Images.to(ScalarType.Int64).sum().item<long>() - test.Images.to(ScalarType.Int64).sum().item<long>());
        Assert.True(padded.Labels!.eq(test.Labels!).all().item<bool>());
        Assert.Throws<ArgumentException>(() => Datasets.FashionMnist32Crop(test.Images));
    }

    [Fact]
    public void LoaderOrderDependsOnSeedAndPositionOnly()
    {
        using var ds = new ImageDataset("toy", arange(0, 20, dtype: ScalarType.Byte).view(20, 1, 1, 1));
        long[] Take(BatchLoader l, int n) => Enumerable.Range(0, n).SelectMany(_ => l.Next().Images.flatten().to(ScalarType.Int64).data<long>().ToArray()).ToArray();

        var a = Take(new BatchLoader(ds, 4, seed: 7, device: CPU), 12); // 2.4 epochs
        var b = new BatchLoader(ds, 4, seed: 7, device: CPU);
        var first = Take(b, 7);
        var resumed = new BatchLoader(ds, 4, seed: 7, device: CPU) { Position = 7 };
        Assert.Equal(a, first.Concat(Take(resumed, 5)).ToArray());
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), a.Take(20).Order()); // an epoch is a permutation
        Assert.NotEqual(a, Take(new BatchLoader(ds, 4, seed: 8, device: CPU), 12));
    }

    [Fact]
    public void FlowPreprocessingMatchesGlowConvention()
    {
        using var img = tensor(new byte[] { 0, 8, 255 }, new long[] { 1, 1, 1, 3 });
        using var x = Preprocess.ToFlowInput(img, bits: 5, dequantize: false);
        Assert.Equal(new[] { -0.5f, -0.5f + 1f / 32, -0.5f + 31f / 32 }, x.flatten().data<float>().ToArray());
        using var noisy = Preprocess.ToFlowInput(img, bits: 5);
        using var diff = noisy - x;
        Assert.True(diff.min().item<float>() >= 0 && diff.max().item<float>() < 1f / 32);
        using var back = Preprocess.FromFlowOutput(noisy, bits: 5);
        Assert.Equal(new byte[] { 0, 8, 248 }, back.flatten().data<byte>().ToArray());
    }
}
