using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>The decoder's output distribution p(x | z) over uint8 images [B, C, H, W].</summary>
public interface IImageLikelihood
{
    /// <summary>How many channels the decoder must output for images with <paramref name="imageChannels"/> channels.</summary>
    int ParamChannels(int imageChannels);

    /// <summary>log p(x | params) in nats, summed over pixels: shape [B]. <paramref name="images"/> is uint8.</summary>
    Tensor LogProb(Tensor parameters, Tensor images);

    /// <summary>A sample as uint8 images [B, C, H, W].</summary>
    Tensor Sample(Tensor parameters);

    /// <summary>A deterministic summary (the mean or mode) as uint8 images, for reconstructions.</summary>
    Tensor Mean(Tensor parameters);
}
