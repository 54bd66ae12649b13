using Workbench.Interop;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.Interop;

/// <summary>
/// rosinality/stylegan2-pytorch's Discriminator (the <c>d</c> of train.py's checkpoints) in and out, against
/// reference.py's tiny one with random weights (16x16, channels 32/32/16, beside the tiny generator): our import
/// gives its logits for 8 fixed images (two minibatch-stddev groups of 4) to 1e-4; our export loads into the
/// reference with torch.load(weights_only=True) and load_state_dict(strict=True) and gives the same logits;
/// ours → .pt → ours is bit-identical; a <c>d</c> that does not fit the generator's config is refused by name.
/// </summary>
public class StyleGan2DiscriminatorInteropTests
{
    static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [SkippableFact]
    public void Import_gives_the_reference_logits_and_export_loads_back_into_pytorch()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var file = py.File("stylegan2_gan.pt");
        var root = (PyDict)TorchCheckpoint.Read(file)!;
        var io = (PyDict)TorchCheckpoint.Read(py.File("stylegan2_d_io.pt"))!;
        using var g = StyleGan2RosinalityLayout.Import(root, file);
        using var d = StyleGan2RosinalityDiscriminatorLayout.Import(root, file, g.Config);

        var x = (Tensor)io["x"]!;
        var want = ((Tensor)io["logits"]!).reshape(-1);
        Tensor logits;
        using (no_grad()) logits = d.call(x);
        Assert.Equal(new long[] { 8 }, logits.shape);
        Assert.True(MaxDiff(logits, want) <= 1e-4, $"logits differ by {MaxDiff(logits, want)}");
        Assert.True((want.max() - want.min()).item<float>() > 0.1, "the reference logits hardly depend on the image: the test cannot see a wrong map");

        var exported = py.File("ours.pt");
        TorchCheckpoint.Write(exported, StyleGan2RosinalityLayout.Export(g, g, d));
        Assert.Contains("max abs difference", py.Run("check-stylegan2-d", exported, py.File("stylegan2_d_io.pt")));

        var back = (PyDict)TorchCheckpoint.Read(exported)!;
        using var again = StyleGan2RosinalityDiscriminatorLayout.Import(back, exported, g.Config);
        var a = d.state_dict();
        foreach (var (k, v) in again.state_dict())
            Assert.True(PyTorchReference.Same(v, a[k]), $"{k} changed in the round trip");
        var original = TorchCheckpoint.StateDict((PyDict)root["d"]!);
        var written = TorchCheckpoint.StateDict((PyDict)back["d"]!);
        Assert.Equal(original.Keys, written.Keys);   // their order, constants included
        foreach (var (k, v) in original) Assert.True(PyTorchReference.Same(v, written[k]), $"{k} is not written back as it was read");
    }

    [SkippableFact]
    public void A_discriminator_that_does_not_fit_the_generator_is_refused_by_name()
    {
        using var py = new PyTorchReference();
        using var scope = NewDisposeScope();
        py.Run("stylegan2", py.Folder);
        var file = py.File("stylegan2_gan.pt");
        var root = (PyDict)TorchCheckpoint.Read(file)!;
        using var g = StyleGan2RosinalityLayout.Import(root, file);
        var d = (PyDict)root["d"]!;
        d.Set("final_linear.1.weight", zeros(2, 32));
        d.Set("convs.1.skip.0.kernel", ones(4, 4));
        var e = Assert.Throws<LayoutMismatchException>(() => StyleGan2RosinalityDiscriminatorLayout.Import(root, file, g.Config));
        Assert.Contains("stylegan2_gan.pt [d]", e.Message);
        Assert.Contains("shape mismatch final_linear.1.weight: [2, 32] in the file, [1, 32] for this config", e.Message);
        Assert.Contains("convs.1.skip.0.kernel differs from the constant", e.Message);
        Assert.Contains("Discriminator(size=16, channels {4: 32, 8: 32, 16: 16})", e.Message);

        using var other = new StyleGan2Discriminator(g.Config with { MbstdGroupSize = 2 });
        var m = Assert.Throws<LayoutMismatchException>(() => StyleGan2RosinalityDiscriminatorLayout.Export(other));
        Assert.Contains("MbstdGroupSize=2", m.Message);
    }
}
