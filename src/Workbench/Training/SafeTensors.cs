using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>One tensor's entry in a safetensors header: dtype name (F32, BF16, …), shape and byte range.</summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>The header of a safetensors file: its tensors (in data order), the free-form string metadata and where the data starts.</summary>
public sealed record SafeTensorsHeader(IReadOnlyList<SafeTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata, long DataStart);

/// <summary>
/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of UTF-8 JSON (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}</c>,
/// offsets relative to the byte buffer after the header), then the tensors' bytes, row-major, little-endian,
/// packed without holes. We write tensors ordered by element size (largest first) then name, and pad the header
/// with spaces to a multiple of 8 bytes, so every tensor starts aligned to its element size, as the reference
/// writer does. We also store the SHA-256 of the tensor bytes (<c>data_sha256</c>) and of the header itself
/// (<c>header_sha256</c>) in the metadata; reading checks them when present, so a flipped bit in the data, the tensor
/// index or the metadata is reported instead of loaded (files from other writers, and ours before the header hash,
/// lack them and load as before). Reading checks the layout fully and names the file in every error.
/// </summary>
public static class SafeTensors
{
    /// <summary>The metadata key of the header (reserved: no tensor may use it).</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The metadata key of the tensor data's SHA-256 (lower-case hex), written by <see cref="Write"/> and checked by <see cref="Read"/>.</summary>
    public const string ChecksumKey = "data_sha256";

    /// <summary>The metadata key of the header's own SHA-256 (lower-case hex): of the padded header bytes with this value
    /// and <see cref="ChecksumKey"/>'s written as 64 zeros. Checked by every read when present.</summary>
    public const string HeaderChecksumKey = "header_sha256";

    /// <summary>Upper bound on the header size (the reference implementation refuses more than 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly (string Name, ScalarType Type, int Size)[] DTypes =
    {
        ("F64", ScalarType.Float64, 8), ("F32", ScalarType.Float32, 4), ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2), ("I64", ScalarType.Int64, 8), ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2), ("I8", ScalarType.Int8, 1), ("U8", ScalarType.Byte, 1), ("BOOL", ScalarType.Bool, 1),
    };

    /// <summary>The safetensors dtype name of a TorchSharp scalar type (F32, BF16, U8, BOOL, …).</summary>
    public static string DTypeName(ScalarType type)
    {
        foreach (var d in DTypes) if (d.Type == type) return d.Name;
        throw new NotSupportedException($"safetensors: tensors of type {type} are not supported (use one of {string.Join(", ", DTypes.Select(d => d.Type))})");
    }

    /// <summary>The TorchSharp scalar type and element size of a safetensors dtype name, or null when unknown.</summary>
    public static (ScalarType Type, int Size)? ParseDType(string name)
    {
        foreach (var d in DTypes) if (d.Name == name) return (d.Type, d.Size);
        return null;
    }

    /// <summary>
    /// Writes tensors (any device; copied to the CPU one at a time) and string metadata to <paramref name="path"/>,
    /// atomically: a temporary file next to it is written, flushed and renamed over the target.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian host");
        var list = new List<(string Name, Tensor T, string DType, int Size)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{path}: a tensor name is empty", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"{path}: '{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"{path}: duplicate tensor name '{name}'", nameof(tensors));
            if (t is null) throw new ArgumentNullException(nameof(tensors), $"{path}: tensor '{name}' is null");
            var dt = DTypeName(t.dtype);
            list.Add((name, t, dt, ParseDType(dt)!.Value.Size));
        }
        list.Sort((a, b) => a.Size != b.Size ? b.Size.CompareTo(a.Size) : string.CompareOrdinal(a.Name, b.Name));

        // Header.
        // The checksum is known only after the data is written: the header holds a placeholder of the same length,
        // overwritten in place at the end (a checksum in the given metadata, as read from another file, is replaced).
        string placeholder = new('0', 64);
        var withChecksum = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ChecksumKey] = placeholder,
            [HeaderChecksumKey] = placeholder,
        };
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(MetadataKey);
            foreach (var (k, v) in withChecksum.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                json.WriteString(k, v ?? throw new ArgumentNullException(nameof(metadata), $"{path}: metadata '{k}' is null"));
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, t, dt, size) in list)
            {
                long bytes = t.NumberOfElements * size;
                json.WriteStartObject(name);
                json.WriteString("dtype", dt);
                json.WriteStartArray("shape");
                foreach (var s in t.shape) json.WriteNumberValue(s);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var json0 = buffer.ToArray();
        int padded = (json0.Length + 7) / 8 * 8;
        var header = new byte[padded];
        json0.CopyTo(header, 0);
        header.AsSpan(json0.Length).Fill((byte)' ');
        int checksumAt = ValueAt(header, ChecksumKey);
        Encoding.ASCII.GetBytes(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(header)).ToLowerInvariant())
            .CopyTo(header, ValueAt(header, HeaderChecksumKey));

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                fs.Write(len);
                fs.Write(header);
                using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
                foreach (var (_, t, _, _) in list)
                    WriteTensorBytes(fs, sha, t);
                fs.Seek(8 + checksumAt, SeekOrigin.Begin);
                fs.Write(Encoding.ASCII.GetBytes(Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant()));
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    // TorchSharp exposes a CPU tensor's storage as a Span (at most 2 GiB per tensor).
    static void WriteTensorBytes(Stream s, System.Security.Cryptography.IncrementalHash sha, Tensor t)
    {
        if (t.NumberOfElements == 0) return;
        using var scope = NewDisposeScope();
        var c = t.detach().cpu().contiguous();
        s.Write(c.bytes);
        sha.AppendData(c.bytes);
    }

    /// <summary>Reads and validates only the header of a safetensors file.</summary>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var fs = OpenRead(path);
        return ReadHeader(path, fs);
    }

    /// <summary>Where the 64-character value of metadata <paramref name="key"/> starts in a header written by
    /// <see cref="Write"/> (compact JSON), or −1.</summary>
    static int ValueAt(ReadOnlySpan<byte> header, string key)
    {
        var marker = Encoding.UTF8.GetBytes($"\"{key}\":\"");
        int i = header.IndexOf(marker);
        return i < 0 || i + marker.Length + 64 > header.Length ? -1 : i + marker.Length;
    }

    /// <summary>Checks <see cref="HeaderChecksumKey"/> when the header has it.</summary>
    static void VerifyHeader(string path, byte[] headerBytes, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(HeaderChecksumKey, out var expected)) return;
        var copy = (byte[])headerBytes.Clone();
        int at = ValueAt(copy, HeaderChecksumKey), dataAt = ValueAt(copy, ChecksumKey);
        if (at < 0) throw new InvalidDataException($"{path}: corrupt: its header's checksum field is malformed");
        copy.AsSpan(at, 64).Fill((byte)'0');
        if (dataAt >= 0) copy.AsSpan(dataAt, 64).Fill((byte)'0');
        var actual = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(copy)).ToLowerInvariant();
        if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"{path}: corrupt: the header's SHA-256 is {actual[..12]}…, the header says {expected[..Math.Min(12, expected.Length)]}… (its metadata or tensor index was changed or damaged; use an intact copy)");
    }

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such checkpoint file", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
    }

    static SafeTensorsHeader ReadHeader(string path, FileStream fs)
    {
        long fileLength = fs.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"{path}: not a safetensors file ({fileLength} bytes, shorter than the 8-byte header length)");
        Span<byte> len = stackalloc byte[8];
        fs.ReadExactly(len);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n < 2 || n > (ulong)MaxHeaderBytes || n > (ulong)(fileLength - 8))
            throw new InvalidDataException(
                $"{path}: not a safetensors file or truncated: header length {n} bytes but the file has {fileLength - 8} bytes after the length field");
        var headerBytes = new byte[n];
        fs.ReadExactly(headerBytes);
        long dataStart = 8 + (long)n;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(headerBytes); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a safetensors file: the header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: not a safetensors file: the header is not a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var infos = new List<SafeTensorInfo>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new InvalidDataException($"{path}: '{MetadataKey}' must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw new InvalidDataException($"{path}: metadata '{m.Name}' is not a string");
                    continue;
                }
                infos.Add(ParseEntry(path, prop));
            }
            infos.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var info in infos)
            {
                if (info.Begin != expected)
                    throw new InvalidDataException(
                        $"{path}: tensor '{info.Name}' starts at byte {info.Begin} of the data but the previous tensor ends at {expected} (overlap or hole)");
                expected = info.End;
            }
            if (expected > dataLength)
                throw new InvalidDataException(
                    $"{path}: truncated: the header describes {expected} bytes of tensor data but the file holds {dataLength}");
            if (expected < dataLength)
                throw new InvalidDataException(
                    $"{path}: {dataLength - expected} bytes of data after the last tensor are not described by the header");
            VerifyHeader(path, headerBytes, metadata);
            return new SafeTensorsHeader(infos, metadata, dataStart);
        }
    }

    static SafeTensorInfo ParseEntry(string path, JsonProperty prop)
    {
        var v = prop.Value;
        string where = $"{path}: tensor '{prop.Name}'";
        if (v.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: entry is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: missing 'dtype'");
        var dtype = dt.GetString()!;
        var parsed = ParseDType(dtype) ?? throw new InvalidDataException(
            $"{where}: dtype '{dtype}' is not supported (supported: {string.Join(", ", DTypes.Select(d => d.Name))})");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: missing 'shape'");
        var shape = sh.EnumerateArray().Select(e => e.TryGetInt64(out var d) && d >= 0 ? d
            : throw new InvalidDataException($"{where}: bad shape entry {e}")).ToArray();
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new InvalidDataException($"{where}: missing 'data_offsets' [begin, end]");
        long begin = off[0].TryGetInt64(out var b) ? b : -1, end = off[1].TryGetInt64(out var e2) ? e2 : -1;
        if (begin < 0 || end < begin) throw new InvalidDataException($"{where}: bad data_offsets [{off[0]}, {off[1]}]");
        long numel = 1;
        foreach (var s in shape) numel = checked(numel * s);
        if (end - begin != numel * parsed.Size)
            throw new InvalidDataException(
                $"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtype} shape [{string.Join(", ", shape)}] needs {numel * parsed.Size}");
        return new SafeTensorInfo(prop.Name, dtype, shape, begin, end);
    }

    /// <summary>
    /// Checks a file's layout and, when its header carries one, the SHA-256 of its tensor data, without building
    /// tensors (to refuse a damaged checkpoint before anything else is done with it).
    /// </summary>
    public static SafeTensorsHeader Verify(string path)
    {
        using var fs = OpenRead(path);
        var header = ReadHeader(path, fs);
        if (!header.Metadata.TryGetValue(ChecksumKey, out var expected)) return header;
        fs.Seek(header.DataStart, SeekOrigin.Begin);
        var actual = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(fs)).ToLowerInvariant();
        if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase)) throw ChecksumMismatch(path, actual, expected);
        return header;
    }

    static InvalidDataException ChecksumMismatch(string path, string actual, string expected) => new(
        $"{path}: corrupt: the tensor data's SHA-256 is {actual[..12]}…, the header says {expected[..Math.Min(12, expected.Length)]}… (a damaged copy or a flipped bit; use an intact copy)");

    /// <summary>Reads every tensor (on the CPU, or moved to <paramref name="device"/>) and the metadata of a safetensors file.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path, Device? device = null)
    {
        using var fs = OpenRead(path);
        var header = ReadHeader(path, fs);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        try
        {
            foreach (var info in header.Tensors)   // in data order, packed: together they hash the whole data section
            {
                var (type, _) = ParseDType(info.DType)!.Value;
                var t = empty(info.Shape, type);
                if (info.ByteLength > 0)
                {
                    fs.Seek(header.DataStart + info.Begin, SeekOrigin.Begin);
                    fs.ReadExactly(t.bytes);
                    sha.AppendData(t.bytes);
                }
                if (device is not null && device.type != TorchSharp.DeviceType.CPU)
                {
                    var moved = t.to(device);
                    t.Dispose();
                    t = moved;
                }
                tensors[info.Name] = t;
            }
            if (header.Metadata.TryGetValue(ChecksumKey, out var expected))
            {
                var actual = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
                if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase)) throw ChecksumMismatch(path, actual, expected);
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
    }
}
