using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// PyTorch's checkpoint file (torch.save since 1.6, torch/serialization.py): a zip archive whose entries sit under one
/// folder, <c>PREFIX/data.pkl</c> (the pickled object, tensors as persistent references to storages),
/// <c>PREFIX/data/KEY</c> (each storage's raw little-endian bytes), <c>PREFIX/version</c> and
/// <c>PREFIX/byteorder</c>. <see cref="Read"/> unpickles with the restricted <see cref="PickleReader"/> (nothing runs)
/// and turns tensor references into CPU tensors; <see cref="Write"/> writes uncompressed entries with each storage
/// aligned to 64 bytes, as torch.save does, readable by <c>torch.load(f, weights_only=True)</c>.
/// The pre-1.6 format (a bare pickle stream) is refused with a message.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>The object stored in <paramref name="path"/>: plain values (<see cref="PyDict"/>, lists, <see cref="PyTuple"/>,
    /// numbers, strings, None, bools) with tensors as CPU <see cref="Tensor"/>s.</summary>
    public static object? Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using (var probe = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[2];
            if (probe.Read(magic) < 2 || magic[0] != (byte)'P' || magic[1] != (byte)'K')
                throw new InvalidDataException(
                    $"{path}: not a PyTorch zip checkpoint (files written before PyTorch 1.6 are a bare pickle stream: re-save it with torch.save(torch.load(f, weights_only=True), f2) in PyTorch >= 1.6)");
        }
        using var zip = ZipFile.OpenRead(path);
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
            ?? throw new InvalidDataException($"{path}: a zip archive without PREFIX/data.pkl (not a torch.save file)");
        string prefix = pkl.FullName[..^"data.pkl".Length];
        var order = zip.GetEntry(prefix + "byteorder");
        if (order is not null && ReadAll(order) is var bo && Encoding.ASCII.GetString(bo).Trim() != "little")
            throw new InvalidDataException($"{path}: big-endian tensors are not supported");
        var root = PickleReader.Read(ReadAll(pkl), path);
        var storages = new Dictionary<string, Tensor>();
        try
        {
            return Resolve(root, r =>
            {
                if (!storages.TryGetValue(r.Key, out var storage))
                {
                    var entry = zip.GetEntry(prefix + "data/" + r.Key)
                        ?? throw new InvalidDataException($"{path}: storage data/{r.Key} is missing");
                    storage = FromBytes(ReadAll(entry), r.DType, r.Numel, $"{path}: data/{r.Key}");
                    storages[r.Key] = storage;
                }
                return storage;
            }, path);
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    /// <summary>Writes <paramref name="value"/> (plain values and tensors, as <see cref="Read"/> returns) to
    /// <paramref name="path"/> as torch.save would, through a temporary file renamed at the end.</summary>
    public static void Write(string path, object? value)
    {
        var writer = new PickleWriter();
        var pickle = writer.Write(value);
        string prefix = "archive/";
        var tmp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = File.Create(tmp))
            using (var zip = new StoredZipWriter(stream))
            {
                zip.Add(prefix + "data.pkl", pickle);
                zip.Add(prefix + "byteorder", Encoding.ASCII.GetBytes("little"));
                foreach (var (key, tensor) in writer.Storages)
                    zip.Add(prefix + "data/" + key, tensor.bytes.ToArray());
                zip.Add(prefix + "version", Encoding.ASCII.GetBytes("3\n"));
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Disposes every tensor in a value <see cref="Read"/> returned (dicts, lists and tuples walked), for a
    /// caller that has copied what it needs out of it.</summary>
    public static void DisposeTensors(object? value)
    {
        switch (value)
        {
            case Tensor t: t.Dispose(); break;
            case PyDict d: foreach (var kv in d.Items) DisposeTensors(kv.Value); break;
            case PyTuple tuple: foreach (var v in tuple.Items) DisposeTensors(v); break;
            case List<object?> list: foreach (var v in list) DisposeTensors(v); break;
        }
    }

    /// <summary>A state dict: the flat name → tensor items of a dict (tensors only; other values are skipped).</summary>
    public static Dictionary<string, Tensor> StateDict(PyDict dict) =>
        dict.Items.Where(kv => kv.Key is string && kv.Value is Tensor).ToDictionary(kv => (string)kv.Key, kv => (Tensor)kv.Value!);

    static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var m = new MemoryStream((int)Math.Min(entry.Length, int.MaxValue));
        s.CopyTo(m);
        return m.ToArray();
    }

    static Tensor FromBytes(byte[] bytes, ScalarType dtype, long numel, string what)
    {
        long size = numel * ElementSize(dtype);
        if (bytes.Length != size) throw new InvalidDataException($"{what}: {bytes.Length} bytes for {numel} elements of {dtype}");
        var t = empty(new[] { numel }, dtype: dtype);
        t.bytes = bytes;
        return t;
    }

    static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>Replaces every <see cref="TorchTensorRef"/> by its tensor (a copy of its strided view of the storage).</summary>
    static object? Resolve(object? v, Func<TorchStorageRef, Tensor> storage, string path)
    {
        switch (v)
        {
            case TorchTensorRef r:
            {
                var s = storage(r.Storage);
                long last = r.Offset;
                for (int i = 0; i < r.Size.Length; i++) if (r.Size[i] > 0) last += (r.Size[i] - 1) * r.Stride[i];
                if (r.Size.Any(n => n == 0)) return zeros(r.Size, dtype: r.Storage.DType);
                if (r.Offset < 0 || last >= r.Storage.Numel || r.Stride.Any(x => x < 0))
                    throw new InvalidDataException($"{path}: a tensor [{string.Join(", ", r.Size)}] reaches outside its storage data/{r.Storage.Key}");
                using var view = s.as_strided(r.Size, r.Stride, r.Offset);
                return view.clone();
            }
            case PyDict d:
            {
                var copy = new PyDict { Ordered = d.Ordered };
                foreach (var (k, item) in d.Items) copy.Set(k, Resolve(item, storage, path));
                return copy;
            }
            case List<object?> list: return list.Select(i => Resolve(i, storage, path)).ToList();
            case PyTuple t: return new PyTuple(t.Items.Select(i => Resolve(i, storage, path)).ToArray());
            case TorchStorageRef:
                throw new InvalidDataException($"{path}: a bare storage outside a tensor");
            default: return v;
        }
    }

    /// <summary>
    /// A zip writer for uncompressed ("stored") entries whose data start on 64-byte boundaries (padding in the local
    /// header's extra field, as PyTorch's writer does, so readers may map them), with CRC-32s and a central directory.
    /// No ZIP64: an archive stays under 4 GiB.
    /// </summary>
    sealed class StoredZipWriter(Stream stream) : IDisposable
    {
        readonly List<(string Name, uint Crc, long Size, long Offset)> entries = new();

        public void Add(string name, byte[] data)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            long offset = stream.Position;
            if (offset + data.Length > uint.MaxValue) throw new IOException("TorchCheckpoint: archives over 4 GiB are not supported");
            long dataStart = offset + 30 + nameBytes.Length + 4;
            int pad = (int)((64 - dataStart % 64) % 64);
            uint crc = Crc32(data);
            var header = new byte[30];
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0), 0x04034b50);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 20);          // version needed
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(14), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(18), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(22), (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(26), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(28), (ushort)(4 + pad));
            stream.Write(header);
            stream.Write(nameBytes);
            var extra = new byte[4 + pad];
            BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(0), 0x4246);          // "FB": PyTorch's padding id
            BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), (ushort)pad);
            for (int i = 4; i < extra.Length; i++) extra[i] = (byte)'Z';
            stream.Write(extra);
            stream.Write(data);
            entries.Add((name, crc, data.Length, offset));
        }

        public void Dispose()
        {
            long start = stream.Position;
            foreach (var (name, crc, size, offset) in entries)
            {
                var nameBytes = Encoding.UTF8.GetBytes(name);
                var h = new byte[46];
                BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(0), 0x02014b50);
                BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 20);
                BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), 20);
                BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), crc);
                BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), (uint)size);
                BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), (uint)size);
                BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), (ushort)nameBytes.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(42), (uint)offset);
                stream.Write(h);
                stream.Write(nameBytes);
            }
            long end = stream.Position;
            var eocd = new byte[22];
            BinaryPrimitives.WriteUInt32LittleEndian(eocd.AsSpan(0), 0x06054b50);
            BinaryPrimitives.WriteUInt16LittleEndian(eocd.AsSpan(8), (ushort)entries.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(eocd.AsSpan(10), (ushort)entries.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(eocd.AsSpan(12), (uint)(end - start));
            BinaryPrimitives.WriteUInt32LittleEndian(eocd.AsSpan(16), (uint)start);
            stream.Write(eocd);
        }

        static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
        {
            uint c = (uint)n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            return c;
        }).ToArray();

        static uint Crc32(byte[] data)
        {
            uint c = 0xFFFFFFFFu;
            foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
            return c ^ 0xFFFFFFFFu;
        }
    }
}
