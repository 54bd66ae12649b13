using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

public sealed record TinyConfig(int Hidden, double Lr, string Name = "tiny");
public sealed record OtherConfig(int Hidden);
public sealed record BadConfig(int Hidden, Func<int, int> Activation);

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("wb-ckpt-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

public class CheckpointTests
{
    /// <summary>Bitwise equality (same dtype, shape and bytes).</summary>
    internal static bool Same(Tensor a, Tensor b)
    {
        using var ca = a.detach().cpu().contiguous();
        using var cb = b.detach().cpu().contiguous();
        return a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && ca.bytes.SequenceEqual(cb.bytes);
    }

    static nn.Module<Tensor, Tensor> Net(int hidden = 4) =>
        nn.Sequential(nn.Linear(3, hidden), nn.BatchNorm1d(hidden), nn.Tanh(), nn.Linear(hidden, 1));

    [Fact]
    public void RoundTripsEveryDtypeAndMetadata()
    {
        using var dir = new TempDir();
        var path = dir.File("all.safetensors");
        Seeding.Set(1);
        var src = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(2, 3), ["f64"] = randn(4, dtype: float64), ["f16"] = randn(3, 2).to(float16),
            ["bf16"] = randn(5).to(bfloat16), ["i64"] = tensor(new long[] { long.MinValue, -1, 0, long.MaxValue }),
            ["i32"] = tensor(new[] { int.MinValue, 7, int.MaxValue }).view(3, 1), ["u8"] = tensor(new byte[] { 0, 1, 255 }),
            ["bool"] = tensor(new[] { true, false, true }), ["i8"] = tensor(new sbyte[] { -128, 127 }),
            ["i16"] = tensor(new short[] { -3, 3 }), ["scalar"] = tensor(3.5f), ["empty"] = zeros(0, 3),
        };
        var md = new Dictionary<string, string> { ["note"] = "héllo \"quoted\"", ["n"] = "3" };
        Checkpoint.Save(path, src, md);
        var (loaded, meta) = Checkpoint.Load(path);
        Assert.Equal(src.Keys.OrderBy(k => k), loaded.Keys.OrderBy(k => k));
        foreach (var (k, t) in src)
        {
            Assert.Equal(t.dtype, loaded[k].dtype);
            Assert.Equal(t.shape, loaded[k].shape);
            Assert.True(t.bytes.SequenceEqual(loaded[k].bytes), $"bytes of {k} differ");
        }
        Assert.Equal(md["note"], meta["note"]);
        Assert.Equal("3", meta["n"]);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
    }

    /// <summary>Parses our file by hand against the safetensors spec.</summary>
    [Fact]
    public void WrittenFileFollowsTheSafetensorsSpec()
    {
        using var dir = new TempDir();
        var path = dir.File("spec.safetensors");
        Checkpoint.Save(path, new Dictionary<string, Tensor>
        {
            ["b.u8"] = tensor(new byte[] { 1, 2, 3 }), ["a.f32"] = arange(6, dtype: float32).view(2, 3),
            ["c.f64"] = tensor(new[] { 1.5, -2.0 }), ["d.bool"] = tensor(new[] { true }),
        }, new Dictionary<string, string> { ["k"] = "v" });

        var bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(0, 8));
        Assert.Equal(0UL, n % 8);
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        using var doc = JsonDocument.Parse(headerText);
        Assert.Equal("v", doc.RootElement.GetProperty("__metadata__").GetProperty("k").GetString());
        var entries = doc.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => (p.Name, DType: p.Value.GetProperty("dtype").GetString()!,
                Shape: p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                Begin: p.Value.GetProperty("data_offsets")[0].GetInt64(), End: p.Value.GetProperty("data_offsets")[1].GetInt64()))
            .OrderBy(e => e.Begin).ToList();
        Assert.Equal(4, entries.Count);
        long expected = 0;
        var sizes = new Dictionary<string, int> { ["F64"] = 8, ["F32"] = 4, ["U8"] = 1, ["BOOL"] = 1 };
        foreach (var e in entries)
        {
            Assert.Equal(expected, e.Begin);
            Assert.Equal(e.Shape.Aggregate(1L, (a, b) => a * b) * sizes[e.DType], e.End - e.Begin);
            Assert.Equal(0, (8 + (long)n + e.Begin) % sizes[e.DType]); // aligned to the element size
            expected = e.End;
        }
        Assert.Equal(bytes.Length - 8 - (long)n, expected);
        var a = entries.Single(e => e.Name == "a.f32");
        Assert.Equal(new long[] { 2, 3 }, a.Shape);
        var dataStart = 8 + (int)n + (int)a.Begin;
        for (int i = 0; i < 6; i++) Assert.Equal((float)i, BitConverter.ToSingle(bytes, dataStart + 4 * i));
        var c = entries.Single(e => e.Name == "c.f64");
        Assert.Equal(-2.0, BitConverter.ToDouble(bytes, 8 + (int)n + (int)c.Begin + 8));
    }

    /// <summary>A file laid out as another writer (the Python reference) would: unpadded header, its own order.</summary>
    [Fact]
    public void ReadsAFileWrittenByAnotherWriter()
    {
        using var dir = new TempDir();
        var path = dir.File("foreign.safetensors");
        var header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}," +
                     "\"idx\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},\"__metadata__\":{\"format\":\"pt\"}}";
        var h = Encoding.UTF8.GetBytes(header);
        var data = new byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(0), 42);
        float[] w = { 1f, -2f, 0.5f, 3.25f };
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8 + 4 * i), w[i]);
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        File.WriteAllBytes(path, file);

        var (t, md) = Checkpoint.Load(path);
        Assert.Equal("pt", md["format"]);
        Assert.Equal(42L, t["idx"].item<long>());
        Assert.Equal(new long[] { 2, 2 }, t["w"].shape);
        Assert.Equal(w, t["w"].data<float>().ToArray());
    }

    [Fact]
    public void TruncatedOrForeignFilesGiveClearErrors()
    {
        using var dir = new TempDir();
        var path = dir.File("t.safetensors");
        Checkpoint.Save(path, new Dictionary<string, Tensor> { ["x"] = ones(10) });
        var good = File.ReadAllBytes(path);

        File.WriteAllBytes(path, good[..^4]);
        var e1 = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, e1.Message);
        Assert.Contains("truncated", e1.Message);

        File.WriteAllBytes(path, good[..5]);
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        var bad = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bad, 1UL << 40);
        File.WriteAllBytes(path, bad);
        var e3 = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("header length", e3.Message);
        Assert.Contains(path, e3.Message);

        File.WriteAllText(path, "this is a text file, not a checkpoint at all");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        // Offsets beyond the data.
        var h = Encoding.UTF8.GetBytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}");
        var file = new byte[8 + h.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(dir.File("missing.safetensors")));
    }

    [Fact]
    public void ModuleRoundTripKeepsParametersBuffersConfigAndStep()
    {
        using var dir = new TempDir();
        var path = dir.File("m.safetensors");
        Seeding.Set(2);
        using var a = Net();
        using (no_grad()) a.call(randn(8, 3)); // moves BatchNorm's running statistics
        var cfg = new TinyConfig(4, 1e-3);
        Checkpoint.SaveModule(path, a, cfg, step: 123, extra: new Dictionary<string, string> { ["data"] = "faces32" });

        using var b = Net();
        var info = Checkpoint.LoadModule(path, b, cfg);
        Assert.Equal(123, info.Step);
        Assert.Equal(cfg, info.Config<TinyConfig>());
        Assert.Equal(cfg, Checkpoint.ReadConfig<TinyConfig>(path));
        Assert.Equal("faces32", info.Metadata["data"]);
        var sa = a.state_dict();
        var sb = b.state_dict();
        Assert.Contains("1.running_mean", sa.Keys);
        foreach (var (k, t) in sa) Assert.True(Same(t, sb[k]), $"{k} differs after loading");
        Assert.Contains("model.1.running_var", SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name));
    }

    [Fact]
    public void MismatchedConfigIsRefusedNamingTheField()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        using var a = Net();
        Checkpoint.SaveModule(path, a, new TinyConfig(4, 1e-3));
        using var b = Net();
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModule(path, b, new TinyConfig(4, 2e-3)));
        Assert.Contains(path, e.Message);
        Assert.Contains("Lr", e.Message);
        var e2 = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModule(path, b, new OtherConfig(4)));
        Assert.Contains(nameof(TinyConfig), e2.Message);
        Assert.Contains(nameof(OtherConfig), e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Checkpoint.SaveModule(dir.File("bad.safetensors"), a, new BadConfig(4, x => x)));
        Assert.Contains(nameof(BadConfig), e3.Message);
        Assert.False(File.Exists(dir.File("bad.safetensors")));
        Assert.Equal(DateTime.UtcNow.Year.ToString(), Checkpoint.ReadInfo(path).Metadata["created_utc"][..4]);
    }

    [Fact]
    public void MissingExtraAndReshapedKeysAreRefusedByName()
    {
        using var dir = new TempDir();
        var path = dir.File("k.safetensors");
        using var a = Net(4);
        Checkpoint.SaveModule(path, a);
        using var wider = Net(5);
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModule(path, wider));
        Assert.Contains("model.0.weight", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        Assert.Contains("[5, 3]", e.Message);
        using var shorter = nn.Sequential(nn.Linear(3, 4));
        var e2 = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModule(path, shorter));
        Assert.Contains("not in module 'model'", e2.Message);
        Assert.Contains("model.3.weight", e2.Message);
        using var longer = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1), nn.Linear(1, 1));
        var e3 = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModule(path, longer));
        Assert.Contains("missing in the file: model.4.weight", e3.Message);
    }

    /// <summary>Train k steps, save, train k more (A); load into a fresh model and Adam, train k (B): identical weights.</summary>
    [Fact]
    public void OptimizerStateResumesBitForBit()
    {
        using var dir = new TempDir();
        var path = dir.File("resume.safetensors");
        Seeding.Set(3);
        using var x = randn(16, 3);
        using var y = randn(16, 1);
        const int k = 5;

        void Train(nn.Module<Tensor, Tensor> net, optim.Optimizer opt, int from)
        {
            var ps = net.parameters().ToList();
            for (int s = from; s < from + k; s++)
                TrainStep.Run(opt, ps, () => nn.functional.mse_loss(net.call(x), y), s);
        }

        using var a = Net();
        var optA = optim.Adam(a.parameters(), 1e-2);
        Train(a, optA, 0);
        Checkpoint.SaveModule(path, a, step: k, optimizer: optA);
        Train(a, optA, k);

        Seeding.Set(99);
        using var b = Net();
        var optB = optim.Adam(b.parameters(), 1e-2);
        var info = Checkpoint.LoadModule(path, b, optimizer: optB);
        Assert.Equal(k, info.Step);
        Train(b, optB, k);

        using var c = Net(); // same weights, but a fresh optimizer: must differ (so the test can fail)
        var optC = optim.Adam(c.parameters(), 1e-2);
        Checkpoint.LoadModule(path, c);
        Train(c, optC, k);

        // The path used for optimizer state on a GPU (staged through CPU copies), forced on the CPU.
        using var d = Net();
        var optD = optim.Adam(d.parameters(), 1e-2);
        Checkpoint.LoadModule(path, d);
        var (blobs, _) = Checkpoint.Load(path);
        Checkpoint.LoadOptimizer(path, "optimizer", optD, blobs["optim/optimizer"], stageAll: true);
        Train(d, optD, k);

        var sa = a.state_dict(); var sb = b.state_dict(); var sc = c.state_dict(); var sd = d.state_dict();
        foreach (var (key, t) in sa) Assert.True(Same(t, sb[key]), $"{key} differs after resuming");
        foreach (var (key, t) in sa) Assert.True(Same(t, sd[key]), $"{key} differs after resuming through staged state");
        Assert.Contains(sa, kv => !Same(kv.Value, sc[kv.Key]));
    }

    [Fact]
    public void SeveralModulesAndOptimizersShareOneFile()
    {
        using var dir = new TempDir();
        var path = dir.File("gan.safetensors");
        using var g = Net(); using var d = Net(3); using var gEma = Net();
        var optG = optim.Adam(g.parameters(), 2e-3, 0, 0.99);
        var optD = optim.Adam(d.parameters(), 2e-3, 0, 0.99);
        Checkpoint.SaveModules(path, new Dictionary<string, nn.Module> { ["G"] = g, ["D"] = d, ["G_ema"] = gEma },
            new Dictionary<string, optim.Optimizer> { ["G"] = optG, ["D"] = optD }, new TinyConfig(4, 2e-3), step: 7);
        var info = Checkpoint.ReadInfo(path);
        Assert.Equal(new[] { "G", "D", "G_ema" }, info.Modules);
        Assert.Equal(new[] { "G", "D" }, info.Optimizers);

        using var only = Net();
        Checkpoint.LoadModules(path, new Dictionary<string, nn.Module> { ["G_ema"] = only });
        Assert.True(Same(only.state_dict()["0.weight"], gEma.state_dict()["0.weight"]));

        var e = Assert.Throws<CheckpointMismatchException>(() =>
            Checkpoint.LoadModules(path, new Dictionary<string, nn.Module> { ["E"] = only }));
        Assert.Contains("module 'E' is not in the file", e.Message);
        // D's optimizer state does not fit G's parameters.
        using var g2 = Net();
        var opt2 = optim.Adam(g2.parameters());
        Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModules(path,
            new Dictionary<string, nn.Module> { ["G"] = g2 }, new Dictionary<string, optim.Optimizer> { ["D"] = opt2 }));
    }
}

[Collection(GlobalRngCollection.Name)]
public class CheckpointRngTests
{
    [Fact]
    public void GeneratorStateIsRestoredWhenAskedFor()
    {
        using var dir = new TempDir();
        var path = dir.File("rng.safetensors");
        using var m = nn.Linear(2, 2);
        random.manual_seed(123);
        Checkpoint.SaveModule(path, m, saveRngState: true);
        using var expected = randn(5);
        random.manual_seed(987);
        Checkpoint.LoadModule(path, m, restoreRngState: true);
        using var actual = randn(5);
        Assert.True(CheckpointTests.Same(expected, actual), "draws after restoring differ from draws after saving");
        Assert.Contains("rng/cpu", SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name));

        var plain = dir.File("plain.safetensors");
        Checkpoint.SaveModule(plain, m);
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadModule(plain, m, restoreRngState: true));
        Assert.Contains("generator state", e.Message);
    }
}
