using System.Buffers.Binary;
using Workbench.Data;
using Workbench.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>Damaged inputs the library must refuse by name rather than load: flipped bits, corrupt optimizer state,
/// impossible IDX headers, failed downloads; and the training log's append and cut-back.</summary>
public class DamagedFileTests
{
    [Fact]
    public void AFlippedBitInTensorDataFailsTheChecksumAndAnIntactFileLoads()
    {
        using var dir = new TempDir();
        var path = dir.File("a.safetensors");
        using (var t = arange(0, 64, ScalarType.Float32)) Checkpoint.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        var header = SafeTensors.ReadHeader(path);
        Assert.Equal(64, header.Metadata[SafeTensors.ChecksumKey].Length);
        var (ok, _) = SafeTensors.Read(path);
        ok["t"].Dispose();

        var bytes = File.ReadAllBytes(path);
        bytes[header.DataStart + 17] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void AChangedOrMissingMetadataFieldIsRefusedNotResumedAtStepZero()
    {
        using var dir = new TempDir();
        var path = dir.File("ck.safetensors");
        var net = nn.Linear(3, 2);
        Checkpoint.SaveModules(path, new Dictionary<string, nn.Module> { ["net"] = net }, step: 5);
        Assert.Equal(5, Checkpoint.ReadInfo(path).Step);
        Assert.Equal(64, SafeTensors.ReadHeader(path).Metadata[SafeTensors.HeaderChecksumKey].Length);

        // one byte of the header edited: "step":"5" -> "step":"0" (the data's hash still matches)
        var bytes = File.ReadAllBytes(path);
        int at = System.Text.Encoding.ASCII.GetString(bytes).IndexOf("\"step\":\"5\"", StringComparison.Ordinal);
        Assert.True(at > 0);
        bytes[at + 8] = (byte)'0';
        var edited = dir.File("edited.safetensors");
        File.WriteAllBytes(edited, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadInfo(edited));
        Assert.Contains(edited, e.Message);
        Assert.Contains("header's SHA-256", e.Message);

        // a checkpoint written without its step (consistent hashes): refused by name, not read as step 0
        var (tensors, metadata) = SafeTensors.Read(path);
        metadata.Remove(Checkpoint.StepKey);
        var stepless = dir.File("stepless.safetensors");
        SafeTensors.Write(stepless, tensors, metadata);
        var missing = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadInfo(stepless));
        Assert.Contains("no 'step'", missing.Message);
        metadata[Checkpoint.StepKey] = "-3";
        SafeTensors.Write(stepless, tensors, metadata);
        Assert.Contains("not a whole number", Assert.Throws<InvalidDataException>(() => Checkpoint.ReadInfo(stepless)).Message);
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void AGarbledGeneratorStateIsRefusedByNameBeforeLibtorchSeesIt()
    {
        using var dir = new TempDir();
        var path = dir.File("ck.safetensors");
        var net = nn.Linear(3, 2);
        var modules = new Dictionary<string, nn.Module> { ["net"] = net };
        using (var _ = rand(1000)) { }   // a generator part-way through its state
        Checkpoint.SaveModules(path, modules, saveRngState: true);
        Checkpoint.LoadModules(path, modules, restoreRngState: true);   // an intact state loads

        var (tensors, metadata) = SafeTensors.Read(path);
        var good = tensors[Checkpoint.RngKey];
        var variants = new Dictionary<string, Tensor>
        {
            ["truncated"] = good[..5000].clone(),
            ["position"] = Patched(good, 8, 100000),
            ["flag"] = Patched(good, 12, 7),
            ["random"] = randint(0, 256, good.shape, dtype: ScalarType.Byte),
        };
        foreach (var (what, bad) in variants)
        {
            tensors[Checkpoint.RngKey] = bad;
            var damaged = dir.File($"{what}.safetensors");
            SafeTensors.Write(damaged, tensors, metadata);   // consistent hashes: only the content is wrong
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModules(damaged, modules, restoreRngState: true));
            Assert.Contains(damaged, e.Message);
            Assert.Contains(Checkpoint.RngKey, e.Message);
        }
        foreach (var t in tensors.Values.Concat(variants.Values).Append(good)) t.Dispose();

        static Tensor Patched(Tensor state, int offset, int value)
        {
            var copy = state.clone();
            BinaryPrimitives.WriteInt32LittleEndian(copy.bytes[offset..], value);
            return copy;
        }
    }

    /// <summary>
    /// Every single-byte corruption of the first bytes of an Adam state blob (its options and flags, the first
    /// state entries) either is refused on load or leaves an optimizer that steps; never a crash inside the step.
    /// </summary>
    [Fact]
    public void CorruptOptimizerStateIsRefusedOnLoadNotCrashedOnInTheStep()
    {
        using var x = randn(8, 3);
        var net = nn.Linear(3, 2);
        var opt = optim.Adam(net.parameters(), 1e-3);
        void Step(optim.Optimizer o, nn.Module<Tensor, Tensor> m)
        {
            using var scope = NewDisposeScope();
            o.zero_grad();
            m.call(x).square().mean().backward();
            o.step();
        }
        Step(opt, net);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) ((TorchSharp.Modules.OptimizerHelper)opt).save_state_dict(w);
        var blob = ms.ToArray();

        int refused = 0, stepped = 0;
        for (int i = 0; i < Math.Min(blob.Length, 160); i++)
            foreach (byte value in new byte[] { 0x01, 0xFF })
            {
                if (blob[i] == value) continue;
                var bad = (byte[])blob.Clone();
                bad[i] = value;
                var fresh = nn.Linear(3, 2);
                var freshOpt = optim.Adam(fresh.parameters(), 1e-3);
                Step(freshOpt, fresh);   // the state exists, as when a trainer resumes
                using var t = tensor(bad);
                try { Checkpoint.LoadOptimizer("blob", "optimizer", freshOpt, t, stageAll: false); }
                catch (CheckpointMismatchException e)
                {
                    // one readable line: no raw bytes of the blob echoed to the terminal
                    Assert.True(e.Message.All(c => c is >= ' ' and <= '~' or '…') && e.Message.Length < 300, $"byte {i} = {value:x2}: {e.Message}");
                    refused++;
                    continue;
                }
                Step(freshOpt, fresh);   // must not throw
                stepped++;
            }
        Assert.True(refused > 0, "no corruption was detected at all");
        Assert.True(refused + stepped > 0);
    }

    [Fact]
    public void AnIdxHeaderWithANegativeDimensionIsRefused()
    {
        using var dir = new TempDir();
        var path = dir.File("bad-idx3-ubyte");
        var bytes = new byte[4 + 12 + 4];
        bytes[2] = 0x08;
        bytes[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), -2);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), -2);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 1);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));
        Assert.Contains("negative", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AFailedDownloadLeavesNoEmptyDatasetFolder()
    {
        using var dir = new TempDir();
        // Port 9 (discard) on the loopback: refused at once.
        var downloader = new DatasetDownloader(root: dir.Path, mirror: "http://127.0.0.1:9/", progress: TextWriter.Null, interactive: false);
        Assert.Throws<DatasetDownloadException>(() => downloader.Download("cifar-10"));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "cifar-10")), "the failed download left data/cifar-10 behind");
    }

    [Fact]
    public void TheLogIsAppendedRowByRowAndCutBackToAStep()
    {
        using var dir = new TempDir();
        var path = dir.File("log.csv");
        var log = new TrainingLog();
        for (int s = 1; s <= 5; s++)
        {
            log.Add(s, ("loss", s * 1.5));
            log.AppendCsv(path, flushToDisk: s % 2 == 0);
            Assert.Equal(s + 1, File.ReadAllLines(path).Length);   // on disk at once, one row per step
        }
        log.Add(5, ("test_loss", 9.0));   // a new column: the file is rewritten with it
        log.AppendCsv(path);
        var lines = File.ReadAllLines(path);
        Assert.Equal("step,seconds,loss,test_loss", lines[0]);
        Assert.Equal(7, lines.Length);

        var cut = TrainingLog.LoadCsv(path, upToStep: 3);
        Assert.Equal(new long[] { 1, 2, 3 }, cut.Series("loss").Steps);
        Assert.True(cut.ElapsedSeconds >= double.Parse(lines[3].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture));
        var all = TrainingLog.LoadCsv(path);
        Assert.Equal(6, all.Count);
    }

    [Fact]
    public void ConfigDifferencesAreNamedByDottedPath()
    {
        var diffs = Checkpoint.DiffJson("""{"Model":{"A":1,"B":[1,2]},"Training":{"Lr":0.1}}""", """{"Model":{"A":2,"B":[1,2]},"Training":{"Lr":0.1,"New":true}}""")!;
        Assert.Equal(2, diffs.Count);
        Assert.Contains(("Model.A", "1", "2"), diffs);
        Assert.Contains(("Training.New", "(absent)", "true"), diffs);
        Assert.Null(Checkpoint.DiffJson("{", "{}"));
    }
}
