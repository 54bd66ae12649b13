using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>
/// CIFAR-10 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images"), binary version: 50,000 train
/// images in <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c> and 10,000 test images in <c>test_batch.bin</c>. Each
/// record is 3,073 bytes: the label (0..9), then the 32x32 red plane, green plane and blue plane, each row-major, so
/// a record is already in [C, H, W] order. Registered as <c>"cifar-10"</c> in <see cref="Datasets"/>.
/// </summary>
public static class Cifar10
{
    public const string Name = "cifar-10";
    public const int Size = 32;
    public const int RecordBytes = 1 + 3 * Size * Size;

    public static readonly string[] Classes =
        { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" };

    public static readonly string[] TrainFiles =
        { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin" };

    public static readonly string[] TestFiles = { "test_batch.bin" };

    /// <summary>
    /// The train (50,000) or test (10,000) split, found by <see cref="DatasetResolver"/> in <c>cifar-10/</c> or
    /// <c>cifar-10/cifar-10-batches-bin/</c> (as the archive unpacks), downloaded when missing and allowed.
    /// </summary>
    public static ImageDataset Load(bool train = true)
    {
        var files = train ? TrainFiles : TestFiles;
        var dir = DatasetResolver.TryLocate(Name, files)
                  ?? DatasetResolver.TryLocate(Path.Combine(Name, "cifar-10-batches-bin"), files)
                  ?? DatasetResolver.Locate(Name, files);
        return Read($"{Name}/{(train ? "train" : "test")}", files.Select(f => DatasetResolver.FindFile(dir, f)!));
    }

    /// <summary>Reads and concatenates binary batch files (plain or gzipped) into one dataset with labels and class names.</summary>
    public static ImageDataset Read(string name, IEnumerable<string> paths)
    {
        var files = paths.ToList();
        var chunks = files.Select(ReadBytes).ToList();
        long count = chunks.Sum(c => (long)c.Length / RecordBytes);
        var images = new byte[count * (RecordBytes - 1)];
        var labels = new long[count];
        long i = 0;
        foreach (var (bytes, path) in chunks.Zip(files))
        {
            for (int r = 0; r < bytes.Length / RecordBytes; r++, i++)
            {
                byte label = bytes[r * RecordBytes];
                if (label >= Classes.Length)
                    throw new InvalidDataException($"{path}: record {r} has label {label}, outside 0..9; not a CIFAR-10 binary batch");
                labels[i] = label;
                Buffer.BlockCopy(bytes, r * RecordBytes + 1, images, (int)(i * (RecordBytes - 1)), RecordBytes - 1);
            }
        }
        var x = tensor(images, new[] { count, 3L, Size, Size }, ScalarType.Byte);
        var y = tensor(labels, ScalarType.Int64);
        return new ImageDataset(name, x, y) { ClassNames = Classes };
    }

    static byte[] ReadBytes(string path)
    {
        byte[] bytes;
        using (var file = File.OpenRead(path))
        {
            bool gz = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
            file.Position = 0;
            using Stream s = gz ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress) : file;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            bytes = ms.ToArray();
        }
        if (bytes.Length == 0 || bytes.Length % RecordBytes != 0)
            throw new InvalidDataException(
                $"{path}: {bytes.Length} bytes is not a whole number of {RecordBytes}-byte CIFAR-10 records " +
                $"({bytes.Length / RecordBytes} whole, {bytes.Length % RecordBytes} left over); the file is truncated or corrupt, " +
                "delete it and fetch cifar-10-binary.tar.gz again");
        return bytes;
    }
}
