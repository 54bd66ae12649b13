using Workbench.Flows;
using Workbench.Interop;
using static TorchSharp.torch;

namespace Workbench.Tests.Interop;

/// <summary>
/// rosinality/glow-pytorch checkpoints in and out, against reference.py's tiny Glow (3x8x8, 2 blocks of 2 steps, width
/// 8, random weights) in three variants: affine coupling with LU, additive with LU, affine with the plain 1x1
/// convolution (whose last block is LU all the same). Our import gives its log p(x) for fixed x to 1e-4 relative;
/// our export loads into the reference with torch.load(weights_only=True) and load_state_dict(strict=True) and gives
/// it again; ours → .pt → ours is bit-identical except where the layouts store a different function of the same
/// value (ActNorm's scale against our log-scale; the dense weight decomposed into LU factors), which agree to float rounding.
/// </summary>
public class GlowInteropTests
{
    [SkippableTheory]
    [InlineData("affine-lu")]
    [InlineData("additive-lu")]
    [InlineData("affine-conv")]
    public void Import_gives_the_reference_log_density_and_export_loads_back_into_pytorch(string variant)
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("glow", py.Folder, variant);
        var io = (PyDict)TorchCheckpoint.Read(py.File($"glow_{variant}_io.pt"))!;
        var file = py.File($"glow_{variant}.pt");
        using var model = GlowRosinalityLayout.Import((PyDict)TorchCheckpoint.Read(file)!, file, 8, 8);
        Assert.Equal(GlowPadding.Ones, model.Config.Padding);
        Assert.Equal(variant.StartsWith("affine") ? Coupling.Affine : Coupling.Additive, model.Config.Coupling);
        Assert.Equal(variant.EndsWith("lu") ? Permutation.Conv1x1LU : Permutation.Conv1x1, model.Config.Permutation);

        var x = (Tensor)io["x"]!;
        var expected = (Tensor)io["logp"]!;
        Tensor logp;
        using (no_grad()) logp = model.LogDensity(x);
        double rel = ((logp - expected).abs() / expected.abs()).max().item<float>();
        Assert.True(rel <= 1e-4, $"log p differs by {rel:G3} relative: ours {string.Join(", ", logp.data<float>().ToArray())}, theirs {string.Join(", ", expected.data<float>().ToArray())}");

        var exported = py.File("ours.pt");
        TorchCheckpoint.Write(exported, GlowRosinalityLayout.Export(model));
        Assert.Contains("max relative difference", py.Run("check-glow", exported, py.File($"glow_{variant}_io.pt"), variant));

        using var back = GlowRosinalityLayout.Import((PyDict)TorchCheckpoint.Read(exported)!, exported, 8, 8);
        var a = model.state_dict();
        foreach (var (k, v) in back.state_dict())
        {
            bool rounded = k.EndsWith(".layers.0.logs") || (variant == "affine-conv" && k.StartsWith("levels.1.") && k.EndsWith(".layers.1.weight"));
            if (rounded) Assert.True((v - a[k]).abs().max().item<float>() <= 1e-6, $"{k} moved by more than rounding in the round trip");
            else Assert.True(PyTorchReference.Same(v, a[k]), $"{k} changed in the round trip");
        }
    }
}
