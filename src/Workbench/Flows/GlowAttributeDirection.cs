using static TorchSharp.torch;
using Workbench.Data;

namespace Workbench.Flows;

/// <summary>
/// Attribute edits in Glow's latent space (Kingma &amp; Dhariwal 2018, "semantic manipulation", Figure 5): the
/// direction of an attribute is the mean latent of images that have it minus the mean latent of images that do not,
/// both encoded exactly by the flow; an edit adds a multiple of the direction to an image's latent and decodes it.
/// Images are uint8 [N, C, H, W], encoded at the centre of their quantisation bins (no dequantisation noise), so
/// strength 0 gives the images back.
/// </summary>
public static class GlowAttributeDirection
{
    /// <summary>Flow input at the centre of each pixel's bin, so decoding rounds back to the same value.</summary>
    static Tensor Input(Glow model, Tensor images) =>
        Preprocess.ToFlowInput(images.to(model.parameters().First().device), model.Config.NBits, dequantize: false)
        + 0.5 / (1 << model.Config.NBits);

    /// <summary>mean Encode(<paramref name="with"/>) − mean Encode(<paramref name="without"/>): a flat direction [D].</summary>
    public static Tensor Direction(Glow model, Tensor with, Tensor without)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var d = EvalModeRun(model, () => Metrics.LatentDirection.MeanDifference(model.Encode(Input(model, with)), model.Encode(Input(model, without))));
        return d.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>The images with <paramref name="strength"/> × <paramref name="direction"/> added to their latents, as uint8.</summary>
    public static Tensor Apply(Glow model, Tensor images, Tensor direction, double strength)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var edited = EvalModeRun(model, () => model.Decode(model.Encode(Input(model, images)) + strength * direction.to(ScalarType.Float32).to(model.parameters().First().device)));
        return Preprocess.FromFlowOutput(edited, model.Config.NBits).cpu().MoveToOuterDisposeScope();
    }

    static Tensor EvalModeRun(Glow model, Func<Tensor> body) => Workbench.Training.EvalMode.Run(model, body);
}
