using System.Buffers.Binary;
using System.IO.Compression;
using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian magic number (two zero bytes, a type
/// code, the number of dimensions), one big-endian int32 per dimension, then the data. Gzipped or raw.
/// </summary>
public static class Idx
{
    /// <summary>Reads an IDX file of unsigned bytes (type code 0x08) into a uint8 tensor of its shape.</summary>
    public static Tensor ReadBytes(string path)
    {
        byte[] raw;
        try
        {
            using var file = File.OpenRead(path);
            using Stream s = IsGzip(path) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            raw = ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: corrupt gzip stream ({e.Message}); delete it and fetch it again", e);
        }
        if (raw.Length < 4 || raw[0] != 0 || raw[1] != 0)
            throw new InvalidDataException($"{path}: not an IDX file (bad magic number)");
        if (raw[2] != 0x08)
            throw new InvalidDataException($"{path}: IDX type 0x{raw[2]:x2} is not unsigned byte (0x08)");
        int dims = raw[3];
        if (dims < 1 || raw.Length < 4 + 4 * dims)
            throw new InvalidDataException($"{path}: truncated IDX header");
        var shape = new long[dims];
        long count = 1;
        for (int i = 0; i < dims; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * i, 4));
            if (shape[i] < 0)
                throw new InvalidDataException($"{path}: IDX header gives dimension {i} a negative size ({shape[i]}); the file is corrupt");
            count *= shape[i];
        }
        int offset = 4 + 4 * dims;
        if (raw.Length - offset != count)
            throw new InvalidDataException(
                $"{path}: header says {count} values [{string.Join("x", shape)}] but the file holds {raw.Length - offset}; it is truncated or corrupt");
        var data = new byte[count];
        Buffer.BlockCopy(raw, offset, data, 0, (int)count);
        return tensor(data, shape, ScalarType.Byte);
    }

    static bool IsGzip(string path)
    {
        using var f = File.OpenRead(path);
        return f.ReadByte() == 0x1f && f.ReadByte() == 0x8b;
    }
}
