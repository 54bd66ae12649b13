using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// The sampling loop the pixel models share (van den Oord et al. 2016a, Section 2): n uint8 images start at zero and are
/// filled pixel by pixel in raster order, re-running the network on the whole image so far (no cache). The model is put in
/// eval mode (restored afterwards), everything runs under no_grad, and each pixel's step runs in its own dispose scope.
/// The tensor is uint8 by default; a model over more than 256 values (VQ-VAE's code prior) passes another dtype.
/// </summary>
public static class AutoregressiveSampler
{
    /// <param name="model">the network (switched to eval mode for the loop).</param>
    /// <param name="shape">[n, C, H, W] of the images to draw.</param>
    /// <param name="device">where the images live (the network's device).</param>
    /// <param name="fillPixel">writes pixel (i, j) of every image, in place, given the images so far.</param>
    /// <param name="onPixel">called after each pixel with the images so far and the number of pixels drawn (progress,
    /// snapshots of partial images); the images are the sampler's own, valid during the call.</param>
    /// <param name="dtype">the element type of the tensor being filled (default uint8).</param>
    public static Tensor Sample(nn.Module model, long[] shape, Device device, Action<Tensor, long, long> fillPixel,
        Action<Tensor, long>? onPixel = null, ScalarType dtype = ScalarType.Byte)
    {
        if (shape.Length != 4) throw new ArgumentException($"shape must be [n, C, H, W], got [{string.Join(", ", shape)}]", nameof(shape));
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            var x = zeros(shape, dtype, device);
            for (long i = 0; i < shape[2]; i++)
                for (long j = 0; j < shape[3]; j++)
                {
                    using var step = NewDisposeScope();
                    fillPixel(x, i, j);
                    onPixel?.Invoke(x, i * shape[3] + j + 1);
                }
            return x;
        }
        finally { if (wasTraining) model.train(); }
    }
}
