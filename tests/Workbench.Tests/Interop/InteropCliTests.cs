using Workbench.Interop;
using Workbench.Tests.Cli;
using static TorchSharp.torch;

namespace Workbench.Tests.Interop;

/// <summary>
/// <c>workbench import pytorch</c> and <c>export pytorch</c> on reference.py's files: an imported run folder samples;
/// exporting it gives back the reference's tensors (so PyTorch computes the same images); a whole GAN's run trains
/// on with its imported discriminator; an unsafe file exits 2
/// with one line naming it and the global; a file of the wrong layout exits 2 listing the keys.
/// </summary>
public class InteropCliTests
{
    [SkippableFact]
    public void A_stylegan2_checkpoint_imports_to_a_run_that_samples_and_exports_back_unchanged()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var run = py.File("run");
        var (code, stdout, err) = CliTestHost.Run("import", "pytorch", py.File("stylegan2.pt"), "--family", "stylegan2", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("\"model\":\"stylegan2\"", stdout);
        (code, _, err) = CliTestHost.Run("sample", run, "--n", "4", "--out", py.File("grid.png"));
        Assert.True(code == 0, err);
        Assert.True(File.Exists(py.File("grid.png")));
        (code, _, err) = CliTestHost.Run("export", "pytorch", run, "--out", py.File("back.pt"));
        Assert.True(code == 0, err);
        var original = (PyDict)TorchCheckpoint.Read(py.File("stylegan2.pt"))!;
        var back = (PyDict)TorchCheckpoint.Read(py.File("back.pt"))!;
        Assert.True(PyTorchReference.Same((Tensor)original["latent_avg"]!, (Tensor)back["latent_avg"]!));
        var a = TorchCheckpoint.StateDict((PyDict)original["g_ema"]!);
        var b = TorchCheckpoint.StateDict((PyDict)back["g_ema"]!);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (k, v) in a) Assert.True(PyTorchReference.Same(v, b[k]), $"{k} changed through the run folder");
        Assert.Contains("max abs difference", py.Run("check-stylegan2", py.File("back.pt"), py.File("stylegan2_io.pt")));
    }

    /// <summary>train.py's whole GAN (g, d, g_ema, optimizer states): the run gets its discriminator, so that
    /// <c>train --resume</c> continues the GAN; before training, export gives back g, d and g_ema bit for bit.</summary>
    [SkippableFact]
    public void A_whole_stylegan2_gan_imports_with_its_discriminator_and_trains_on()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var run = py.File("run");
        var (code, _, err) = CliTestHost.Run("import", "pytorch", py.File("stylegan2_gan.pt"), "--family", "stylegan2",
            "--data", RunFixtures.Images, "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("optimizer states (g_optim, d_optim) are not imported", err);
        Assert.DoesNotContain("discriminator", err);

        (code, _, err) = CliTestHost.Run("export", "pytorch", run, "--out", py.File("back.pt"));
        Assert.True(code == 0, err);
        var original = (PyDict)TorchCheckpoint.Read(py.File("stylegan2_gan.pt"))!;
        var back = (PyDict)TorchCheckpoint.Read(py.File("back.pt"))!;
        Assert.Equal(new[] { "g", "d", "g_ema", "latent_avg" }, back.Keys.Cast<string>());
        foreach (var part in new[] { "g", "d", "g_ema" })
        {
            var a = TorchCheckpoint.StateDict((PyDict)original[part]!);
            var b = TorchCheckpoint.StateDict((PyDict)back[part]!);
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var (k, v) in a) Assert.True(PyTorchReference.Same(v, b[k]), $"{part}.{k} changed through the run folder");
        }
        Assert.Contains("max abs difference", py.Run("check-stylegan2-d", py.File("back.pt"), py.File("stylegan2_d_io.pt")));

        var ck = Path.Combine(run, "checkpoints", "last.safetensors");
        var (before, _) = Workbench.Training.Checkpoint.Load(ck);
        (code, _, err) = CliTestHost.Run("train", "--resume", run, "--steps", "2", "--sample-every", "0");
        Assert.True(code == 0, err);
        var (after, _) = Workbench.Training.Checkpoint.Load(ck);
        Assert.Equal(2, Workbench.Training.Checkpoint.ReadInfo(ck).Step);
        var d = before.Keys.Where(k => k.StartsWith("D.", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(d);
        Assert.Contains(d, k => !(before[k] == after[k]).all().item<bool>());
        Assert.All(after.Values.Where(t => t.is_floating_point()), t => Assert.True(t.isfinite().all().item<bool>()));
    }

    [SkippableFact]
    public void A_glow_checkpoint_imports_to_a_run_that_exports_a_file_pytorch_reads()
    {
        using var py = new PyTorchReference();
        py.Run("glow", py.Folder, "affine-lu");
        var run = py.File("run");
        var (code, _, err) = CliTestHost.Run("import", "pytorch", py.File("glow_affine-lu.pt"), "--family", "glow", "--size", "8", "--out", run);
        Assert.True(code == 0, err);
        (code, _, err) = CliTestHost.Run("sample", run, "--n", "4", "--out", py.File("grid.png"));
        Assert.True(code == 0, err);
        (code, _, err) = CliTestHost.Run("export", "pytorch", run, "--out", py.File("back.pt"));
        Assert.True(code == 0, err);
        Assert.Contains("max relative difference", py.Run("check-glow", py.File("back.pt"), py.File("glow_affine-lu_io.pt"), "affine-lu"));
    }

    [SkippableFact]
    public void Unsafe_or_mismatched_files_exit_2_naming_the_problem()
    {
        using var py = new PyTorchReference();
        py.Run("evil", py.Folder);
        var (code, _, err) = CliTestHost.Run("import", "pytorch", py.File("evil.pt"), "--family", "stylegan2", "--out", py.File("run"));
        Assert.Equal(2, code);
        var line = Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("evil.pt", line);
        Assert.Contains("'posix.system'", line);
        Assert.False(File.Exists(py.File("PWNED")));
        Assert.False(Directory.Exists(py.File("run")));

        py.Run("glow", py.Folder, "additive-lu");
        (code, _, err) = CliTestHost.Run("import", "pytorch", py.File("glow_additive-lu.pt"), "--family", "stylegan2", "--out", py.File("run"));
        Assert.Equal(2, code);
        Assert.Contains("no generator state dict under 'g_ema' or 'g'", err);
    }
}
