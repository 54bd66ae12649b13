using TorchSharp;
using Workbench.Nn;
using Workbench.Nvae;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// The exact likelihood of the pixel models (van den Oord et al. 2016a, Eq. 1-2): run the network once on the scaled image
/// (<see cref="PixelCategorical.Scale"/>, in the network's dtype and on its device) and score the uint8 image under the
/// likelihood the network parameterises, log p(x) = Σ_i log p(x_i | x_&lt;i) in nats; and bits per sub-pixel.
/// </summary>
public static class PixelLikelihood
{
    /// <summary>log p(x) in nats per image [B] of uint8 images [B, C, H, W].</summary>
    /// <param name="model">the network's module (its first parameter gives dtype and device).</param>
    /// <param name="network">scaled images → likelihood parameters.</param>
    /// <param name="likelihood">the per-pixel distribution.</param>
    /// <param name="images">uint8 images [B, C, H, W].</param>
    /// <param name="channels">the model's image channels C.</param>
    /// <param name="who">the model's name, for the shape error.</param>
    public static Tensor LogProb(nn.Module model, Func<Tensor, Tensor> network, IImageLikelihood likelihood, Tensor images, long channels, string who)
    {
        Shapes.Expect(images, $"{who}: images", "B", channels, "H", "W");
        using var scope = NewDisposeScope();
        var p = model.parameters().First();
        return likelihood.LogProb(network(PixelCategorical.Scale(images).to(p.dtype).to(p.device)), images.to(p.device)).MoveToOuterDisposeScope();
    }

    /// <summary>Bits per sub-pixel [B]: −log2 p(x) / (C·H·W) for log p(x) [B] in nats of images [B, C, H, W].</summary>
    public static Tensor BitsPerDim(Tensor logProb, Tensor images) =>
        Metrics.BitsPerDim.FromLogProb(logProb, images.shape[1] * images.shape[2] * images.shape[3]);
}
