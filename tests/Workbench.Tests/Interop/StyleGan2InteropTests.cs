using TorchSharp;
using Workbench.Interop;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.Interop;

/// <summary>
/// rosinality/stylegan2-pytorch checkpoints in and out, against reference.py's tiny generator with random weights
/// (16x16, style_dim 32, 2 mapping layers, channels 32/32/16): our import renders its images for fixed z and the
/// stored noise maps, with and without truncation, to 1e-4; the NVlabs-oriented copy of the same file reads the same
/// with the up-kernel flip (and differently without it); our export loads into the reference with
/// torch.load(weights_only=True) and load_state_dict(strict=True) and renders the same images; ours → .pt → ours is
/// bit-identical.
/// </summary>
public class StyleGan2InteropTests
{
    static (Tensor Img, Tensor Trunc) Render(StyleGan2Generator g, PyDict io)
    {
        using var _ = no_grad();
        g.eval();
        var z = (Tensor)io["z"]!;
        double psi = ((Tensor)io["psi"]!).item<float>();
        return (g.Synthesize(g.MapToW(z), NoiseMode.Const), g.Synthesize(g.MapToW(z, psi), NoiseMode.Const));
    }

    static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [SkippableFact]
    public void Import_renders_the_reference_images_and_export_loads_back_into_pytorch()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var io = (PyDict)TorchCheckpoint.Read(py.File("stylegan2_io.pt"))!;
        var file = py.File("stylegan2.pt");
        using var g = StyleGan2RosinalityLayout.Import((PyDict)TorchCheckpoint.Read(file)!, file);
        Assert.Equal(16, g.Config.Resolution);
        Assert.Equal(32, g.Config.WDim);
        Assert.Equal(2, g.Config.MappingLayers);
        Assert.Equal(new long[] { 32, 32, 16 }, new[] { 4, 8, 16 }.Select(r => (long)g.Config.Channels(r)));

        var (img, trunc) = Render(g, io);
        Assert.True(MaxDiff(img, (Tensor)io["img"]!) <= 1e-4, $"images differ by {MaxDiff(img, (Tensor)io["img"]!)}");
        Assert.True(MaxDiff(trunc, (Tensor)io["img_trunc"]!) <= 1e-4, $"truncated images differ by {MaxDiff(trunc, (Tensor)io["img_trunc"]!)}");

        var exported = py.File("ours.pt");
        TorchCheckpoint.Write(exported, StyleGan2RosinalityLayout.Export(g));
        Assert.Contains("max abs difference", py.Run("check-stylegan2", exported, py.File("stylegan2_io.pt")));

        using var back = StyleGan2RosinalityLayout.Import((PyDict)TorchCheckpoint.Read(exported)!, exported);
        var a = g.state_dict();
        foreach (var (k, v) in back.state_dict())
            Assert.True(PyTorchReference.Same(v, a[k]), $"{k} changed in the round trip");
    }

    [SkippableFact]
    public void Upsampling_kernels_in_NVlabs_orientation_are_read_with_the_flip_and_written_back_so()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var io = (PyDict)TorchCheckpoint.Read(py.File("stylegan2_io.pt"))!;
        var file = py.File("stylegan2_nvlabs.pt");
        var root = (PyDict)TorchCheckpoint.Read(file)!;
        using var flipped = StyleGan2RosinalityLayout.Import(root, file, flipUpWeights: true);
        Assert.True(MaxDiff(Render(flipped, io).Img, (Tensor)io["img"]!) <= 1e-4);
        using var unflipped = StyleGan2RosinalityLayout.Import(root, file, flipUpWeights: false);
        Assert.True(MaxDiff(Render(unflipped, io).Img, (Tensor)io["img"]!) > 1e-2, "the flip made no difference: the test cannot see it");

        var again = StyleGan2RosinalityLayout.Export(flipped, flipUpWeights: true);
        var original = TorchCheckpoint.StateDict((PyDict)root["g_ema"]!);
        foreach (var (k, v) in TorchCheckpoint.StateDict((PyDict)again["g_ema"]!))
            Assert.True(PyTorchReference.Same(v, original[k]), $"{k} is not written back in NVlabs' orientation");
    }

    [SkippableFact]
    public void A_mismatched_state_dict_lists_every_problem_by_name_with_the_config_that_fits()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var file = py.File("stylegan2.pt");
        var root = (PyDict)TorchCheckpoint.Read(file)!;
        var g = (PyDict)root["g_ema"]!;
        g.Set("extra.weight", zeros(2));
        g.Set("conv1.noise.weight", zeros(2));
        var pruned = new PyDict { Ordered = true };
        foreach (var (k, v) in g.Items) if ((string)k != "to_rgbs.0.bias") pruned.Set(k, v);
        root.Set("g_ema", pruned);
        var e = Assert.Throws<LayoutMismatchException>(() => StyleGan2RosinalityLayout.Import(root, file));
        Assert.Contains("unknown key extra.weight [2]", e.Message);
        Assert.Contains("missing key to_rgbs.0.bias (expected [1, 3, 1, 1])", e.Message);
        Assert.Contains("shape mismatch conv1.noise.weight: [2] in the file, [1] for this config", e.Message);
        Assert.Contains("Generator(size=16, style_dim=32, n_mlp=2, channels {4: 32, 8: 32, 16: 16})", e.Message);
    }
}
