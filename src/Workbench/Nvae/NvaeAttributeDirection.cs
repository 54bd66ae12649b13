using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// Attribute edits in a hierarchical VAE's top latent groups, the NVAE counterpart of Glow's semantic manipulation
/// (Kingma &amp; Dhariwal 2018, Figure 5): the direction is, per edited group, the mean posterior latent of images
/// with the attribute minus that of images without; an edit encodes each image once (one posterior sample per group,
/// Vahdat &amp; Kautz 2020, Eq. 1's q(z_l | x, z_&lt;l)), moves the top <c>groups</c> latents along the direction, keeps
/// every lower group's latent as encoded, and decodes (the likelihood's mean image). Strength 0 is the model's
/// reconstruction of each image.
/// </summary>
public static class NvaeAttributeDirection
{
    /// <summary>One direction per edited group (the first <paramref name="groups"/> groups, top first), each shaped like its latent [C, H, W].</summary>
    public static Tensor[] Direction(VaeModel model, Tensor with, Tensor without, int groups = 1)
    {
        using var scope = NewDisposeScope();
        var a = Encode(model, with);
        var b = Encode(model, without);
        CheckGroups(groups, a.Length);
        return Enumerable.Range(0, groups)
            .Select(g => Metrics.LatentDirection.MeanDifference(a[g], b[g]).to(a[g].dtype).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>The posterior latents of <paramref name="images"/> (uint8), one sample per group, in eval mode without gradients.</summary>
    public static Tensor[] Encode(VaeModel model, Tensor images)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = model.parameters().First().device;
        var z = Workbench.Training.EvalMode.Run(model, () => model.call(images.to(device)).Z);
        return z.Select(t => t.MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>Decodes <paramref name="encoded"/> with the top groups moved by <paramref name="strength"/> × their direction: uint8 images.</summary>
    public static Tensor Apply(VaeModel model, Tensor[] encoded, Tensor[] direction, double strength)
    {
        CheckGroups(direction.Length, encoded.Length);
        using var scope = NewDisposeScope();
        var fixedZ = encoded.Select((z, g) => (Tensor?)(g < direction.Length ? z + strength * direction[g].to(z.dtype).to(z.device) : z)).ToList();
        return Workbench.Training.EvalMode.Run(model, () => model.SampleImages(encoded[0].shape[0], 1.0, fixedZ: fixedZ)).cpu().MoveToOuterDisposeScope();
    }

    static void CheckGroups(int groups, int available)
    {
        if (groups < 1 || groups > available)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"the model has {available} latent groups");
    }
}
