using Workbench.Data;

namespace Workbench.Tests.Data;

public class Cifar10Tests
{
    static byte[] Record(byte label, byte r, byte g, byte b)
    {
        var rec = new byte[Cifar10.RecordBytes];
        rec[0] = label;
        Array.Fill(rec, r, 1, 1024);
        Array.Fill(rec, g, 1 + 1024, 1024);
        Array.Fill(rec, b, 1 + 2048, 1024);
        return rec;
    }

    [Fact]
    public void RecordsAreLabelThenRedGreenBluePlanes()
    {
        var dir = Directory.CreateTempSubdirectory("wb-cifar").FullName;
        var first = Record(3, 10, 20, 30);
        first[1 + 32 * 1 + 2] = 200;               // red plane, row 1, column 2
        first[1 + 1024 + 32 * 31 + 0] = 201;       // green plane, row 31, column 0
        first[1 + 2048 + 32 * 4 + 31] = 202;       // blue plane, row 4, column 31
        var a = Path.Combine(dir, "data_batch_1.bin");
        var b = Path.Combine(dir, "data_batch_2.bin");
        File.WriteAllBytes(a, first.Concat(Record(9, 1, 2, 3)).ToArray());
        File.WriteAllBytes(b, Record(0, 4, 5, 6));

        using var ds = Cifar10.Read("cifar-test", new[] { a, b });

        Assert.Equal(new long[] { 3, 3, 32, 32 }, ds.Images.shape);
        Assert.Equal(new long[] { 3, 9, 0 }, ds.Labels!.data<long>().ToArray());
        Assert.Equal("cat", ds.ClassNames![3]);
        Assert.Equal(200, ds.Images[0, 0, 1, 2].item<byte>());
        Assert.Equal(201, ds.Images[0, 1, 31, 0].item<byte>());
        Assert.Equal(202, ds.Images[0, 2, 4, 31].item<byte>());
        Assert.Equal(10, ds.Images[0, 0, 0, 0].item<byte>());
        Assert.Equal(20, ds.Images[0, 1, 5, 5].item<byte>());
        Assert.Equal(30, ds.Images[0, 2, 31, 31].item<byte>());
        Assert.Equal(new byte[] { 1, 2, 3 }, ds.Images[1, .., 7, 7].data<byte>().ToArray());
        Assert.Equal(new byte[] { 4, 5, 6 }, ds.Images[2, .., 0, 0].data<byte>().ToArray());
    }

    [Fact]
    public void TruncatedBatchNamesTheFile()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("wb-cifar").FullName, "test_batch.bin");
        File.WriteAllBytes(path, Record(1, 0, 0, 0).Concat(Record(2, 0, 0, 0)).SkipLast(5).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.Read("t", new[] { path }));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void LabelOutsideTheTenClassesIsAnError()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("wb-cifar").FullName, "data_batch_1.bin");
        File.WriteAllBytes(path, Record(10, 0, 0, 0));
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.Read("t", new[] { path }));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void RegisteredAsCifar10()
    {
        Assert.Contains("cifar-10", Datasets.Names);
        if (DatasetResolver.TryLocate("cifar-10", Cifar10.TestFiles) is null
            && DatasetResolver.TryLocate("cifar-10/cifar-10-batches-bin", Cifar10.TestFiles) is null)
        {
            // not installed here, and tests never download: the error must say how to get it
            var e = Assert.Throws<DatasetNotFoundException>(() => Datasets.Load("cifar-10", train: false));
            Assert.Contains("test_batch.bin", e.Message);
            return;
        }
        using var test = Datasets.Load("cifar-10", train: false);
        Assert.Equal(new long[] { 10000, 3, 32, 32 }, test.Images.shape);
    }
}
