using Workbench.Interop;
using Workbench.StyleGan2;
using Workbench.Tests.Notebooks;
using static TorchSharp.torch;

namespace Workbench.Tests.Interop;

/// <summary>
/// The notebooks' "Open a PyTorch checkpoint" sections on real files from reference.py: the library calls they make
/// (<see cref="StyleGan2RosinalityLayout.Open"/>, <see cref="GlowRosinalityLayout.Open"/>) give the reference's images
/// and log-densities, a stylegan2 file without latent_avg gets its w_avg estimated, and notebooks 01 and 02 run in
/// quick mode in the real kernel with <c>pytorchCheckpoint</c> set (the plain quick runs take the empty-path branch).
/// </summary>
[Collection(nameof(NotebookKernel))]
public class NotebookCheckpointSectionTests
{
    [SkippableFact]
    public void Open_reads_a_stylegan2_file_ready_to_sample()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var io = (PyDict)TorchCheckpoint.Read(py.File("stylegan2_io.pt"))!;
        using var g = StyleGan2RosinalityLayout.Open(py.File("stylegan2.pt"));
        g.eval();
        using (no_grad())
        {
            var z = (Tensor)io["z"]!;
            var trunc = g.Synthesize(g.MapToW(z, ((Tensor)io["psi"]!).item<float>()), NoiseMode.Const);
            Assert.True((trunc - (Tensor)io["img_trunc"]!).abs().max().item<float>() <= 1e-4);
        }

        // Without latent_avg (train.py's files): w_avg is the mean of f(z) over 4,096 z of seed 0, not left at zero.
        var root = (PyDict)TorchCheckpoint.Read(py.File("stylegan2.pt"))!;
        var bare = new PyDict();
        bare.Set("g_ema", root["g_ema"]);
        TorchCheckpoint.Write(py.File("bare.pt"), bare);
        using var h = StyleGan2RosinalityLayout.Open(py.File("bare.pt"));
        var estimated = h.WAvg.clone();
        Assert.True(estimated.abs().max().item<float>() > 1e-3, "w_avg was not estimated");
        StyleGan2RosinalityLayout.EstimateWAvg(h);
        Assert.True(PyTorchReference.Same(estimated, h.WAvg));
    }

    [SkippableFact]
    public void Open_reads_a_glow_file_ready_to_sample()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("glow", py.Folder, "affine-lu");
        var io = (PyDict)TorchCheckpoint.Read(py.File("glow_affine-lu_io.pt"))!;
        using var model = GlowRosinalityLayout.Open(py.File("glow_affine-lu.pt"), 8, nBits: 5);
        Assert.Equal(5, model.Config.NBits);
        var expected = (Tensor)io["logp"]!;
        using (no_grad())
            Assert.True(((model.LogDensity((Tensor)io["x"]!) - expected).abs() / expected.abs()).max().item<float>() <= 1e-4);
    }

    [SkippableTheory]
    [InlineData("01-glow.ipynb", "glow")]
    [InlineData("02-stylegan2.ipynb", "stylegan2")]
    public async Task The_notebook_section_opens_a_real_checkpoint(string notebook, string family)
    {
        using var py = new PyTorchReference();
        if (family == "glow") py.Run("glow", py.Folder, "affine-lu");
        else py.Run("stylegan2", py.Folder);
        var file = py.File(family == "glow" ? "glow_affine-lu.pt" : "stylegan2.pt");
        var parameters = new List<KeyValuePair<string, string>> { new("pytorchCheckpoint", file) };
        if (family == "glow") parameters.Add(new("pytorchSize", "8"));
        var stdout = await AllNotebooksTests.RunsInQuickMode(notebook, parameters.ToArray());
        Assert.DoesNotContain("No PyTorch checkpoint", stdout);
        Assert.Contains(Path.GetFileName(file) + ": ", stdout);
        Assert.Contains(family == "glow" ? "bits/dim: no held-out data of shape 3x8x8" : "stylegan2-pytorch Generator(size=16", stdout);
    }
}
