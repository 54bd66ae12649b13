using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// What the autoregressive image models share: the log-likelihood of uint8 images by the chain rule in raster order
/// (van den Oord et al. 2016a, Eq. 1), exact for the pixel models (<see cref="PixelCnn"/>, <see cref="GatedPixelCnn"/>,
/// <see cref="PixelCnnPlusPlus"/>) and the dequantization bound for MAF (<see cref="Flows.MafImageFlow"/>), and sampling.
/// Their trainer (<see cref="AutoregressiveTrainer"/>) and the command line see them through it.
/// </summary>
public interface IPixelModel
{
    /// <summary>Image channels C.</summary>
    int ImageChannels { get; }

    /// <summary>Side of the square images the model samples.</summary>
    int ImageSize { get; }

    /// <summary>Classes the model is conditioned on (0: unconditional).</summary>
    int Classes { get; }

    /// <summary>log p(x | y) in nats per image [B] of uint8 images [B, C, H, W] (exact, or MAF's one-draw dequantization
    /// bound); <paramref name="labels"/> [B]
    /// (int64) for a conditional model, ignored otherwise.</summary>
    Tensor LogProb(Tensor images, Tensor? labels = null);

    /// <summary>n uint8 images [n, C, S, S] drawn pixel by pixel in eval mode, at <paramref name="temperature"/> (1: the
    /// model's distribution); <paramref name="labels"/> [n] for a conditional model; <paramref name="onPixel"/> is called
    /// after each pixel with the images so far and the pixels drawn (<see cref="AutoregressiveSampler.Sample"/>).</summary>
    Tensor Sample(int n, double temperature = 1.0, Tensor? labels = null, Action<Tensor, long>? onPixel = null);
}
