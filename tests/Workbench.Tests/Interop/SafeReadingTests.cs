using Workbench.Interop;
using static TorchSharp.torch;

namespace Workbench.Tests.Interop;

/// <summary>
/// The checkpoint reader builds only plain values and tensors: a pickle that would run a shell command when unpickled
/// the Python way is refused by the name of its global before anything is built, and so is any other class
/// (stylegan2-pytorch's train.py stores its argparse.Namespace). Also: what the writer writes, the reader reads back
/// identically, for every dtype the storages know.
/// </summary>
public class SafeReadingTests
{
    [SkippableFact]
    public void A_pickle_that_would_run_a_command_is_refused_by_name_and_runs_nothing()
    {
        using var py = new PyTorchReference();
        py.Run("evil", py.Folder);
        var evil = py.File("evil.pt");
        var e = Assert.Throws<UnsafeCheckpointException>(() => TorchCheckpoint.Read(evil));
        Assert.Contains(evil, e.Message);
        Assert.Contains("'posix.system'", e.Message);   // os.system pickles as posix.system on Linux
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(py.File("PWNED")), "the payload ran");

        var ns = Assert.Throws<UnsafeCheckpointException>(() => TorchCheckpoint.Read(py.File("namespace.pt")));
        Assert.Contains("'argparse.Namespace'", ns.Message);
    }

    [Fact]
    public void What_the_writer_writes_the_reader_reads_back_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("workbench-interop-").FullName;
        try
        {
            var sd = new PyDict { Ordered = true };
            sd.Set("f32", randn(3, 4));
            sd.Set("f64", randn(2, 2, dtype: ScalarType.Float64));
            sd.Set("scalar_u8", tensor((byte)1));
            sd.Set("i64", arange(5L));
            sd.Set("f16", randn(6).to(ScalarType.Float16));
            sd.Set("transposed", randn(3, 5).t());               // a non-contiguous view: written contiguous
            var root = new PyDict();
            root.Set("state", sd);
            root.Set("step", 12345678901L);
            root.Set("name", "zürich");
            root.Set("list", new List<object?> { 1L, null, true, new PyTuple(new object?[] { "a", 2L }) });
            var path = Path.Combine(dir, "x.pt");
            TorchCheckpoint.Write(path, root);
            var back = Assert.IsType<PyDict>(TorchCheckpoint.Read(path));
            Assert.Equal(12345678901L, back["step"]);
            Assert.Equal("zürich", back["name"]);
            var list = Assert.IsType<List<object?>>(back["list"]);
            Assert.Equal(new object?[] { 1L, null, true }, list.Take(3));
            var state = Assert.IsType<PyDict>(back["state"]);
            Assert.True(state.Ordered);
            Assert.Equal(sd.Keys, state.Keys);
            foreach (var (k, v) in sd.Items)
            {
                var t = (Tensor)v!;
                var r = (Tensor)state[(string)k]!;
                Assert.Equal(t.dtype, r.dtype);
                Assert.Equal(t.shape, r.shape);
                Assert.True(PyTorchReference.Same(t, r), k.ToString());
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_file_that_is_not_a_zip_archive_is_named_in_one_line()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[] { 0x80, 0x02, (byte)'K', 1, (byte)'.' });
            var e = Assert.Throws<InvalidDataException>(() => TorchCheckpoint.Read(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("PyTorch 1.6", e.Message);
        }
        finally { File.Delete(path); }
    }
}
