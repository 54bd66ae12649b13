using TorchSharp;
using Workbench.Nvae;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// PixelCNN's likelihood (van den Oord et al. 2016a, Section 2 and 5.3): every sub-pixel is a 256-way categorical,
/// p(x) = Π_i p(x_i,R | x_&lt;i) p(x_i,G | x_&lt;i, x_i,R) p(x_i,B | x_&lt;i, x_i,R, x_i,G), a softmax over the network's logits.
/// Parameter layout: [B, C·256, H, W], channel c's logits in [c·256, (c+1)·256) (the layout a masked conv with C groups
/// produces). Images are uint8 [B, C, H, W]; the network sees them as x/127.5 − 1 (<see cref="Scale"/>).
/// </summary>
public sealed class PixelCategorical : IImageLikelihood
{
    /// <summary>Values per sub-pixel.</summary>
    public const int Levels = 256;

    public int ParamChannels(int imageChannels) => imageChannels * Levels;

    /// <summary>uint8 images → float in [−1, 1], the networks' input.</summary>
    public static Tensor Scale(Tensor images) => images.to(ScalarType.Float32) / 127.5 - 1;

    /// <summary>Log-softmax over the 256 values: [B, C, 256, H, W].</summary>
    public static Tensor LogProbabilities(Tensor parameters, long channels)
    {
        if (parameters.dim() != 4 || parameters.shape[1] != channels * Levels)
            throw new ArgumentException($"PixelCategorical: parameters must be [B, {channels * Levels}, H, W] for {channels} channels, got [{string.Join(", ", parameters.shape)}]", nameof(parameters));
        return nn.functional.log_softmax(parameters.reshape(parameters.shape[0], channels, Levels, parameters.shape[2], parameters.shape[3]), 2);
    }

    /// <summary>log p of each sub-pixel in nats: [B, C, H, W].</summary>
    public static Tensor LogProbPerDim(Tensor parameters, Tensor images)
    {
        using var scope = NewDisposeScope();
        var lp = LogProbabilities(parameters, images.shape[1]);
        return lp.gather(2, images.to(ScalarType.Int64).unsqueeze(2)).squeeze(2).MoveToOuterDisposeScope();
    }

    public Tensor LogProb(Tensor parameters, Tensor images)
    {
        using var scope = NewDisposeScope();
        return LogProbPerDim(parameters, images).sum(new long[] { 1, 2, 3 }).MoveToOuterDisposeScope();
    }

    /// <summary>Each sub-pixel drawn independently from its categorical (given fixed parameters).</summary>
    public Tensor Sample(Tensor parameters) => Draw(parameters, 1.0, stochastic: true);

    /// <summary>The most probable value of each sub-pixel.</summary>
    public Tensor Mean(Tensor parameters) => Draw(parameters, 1.0, stochastic: false);

    static Tensor Draw(Tensor parameters, double temperature, bool stochastic)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long c = parameters.shape[1] / Levels;
        var lp = LogProbabilities(parameters, c) / temperature;
        var choice = stochastic ? (lp - log(-log(rand_like(lp).clamp(1e-10, 1 - 1e-7)))).argmax(2) : lp.argmax(2);
        return choice.to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Autoregressive sampling (2016a, Section 2) with <see cref="AutoregressiveSampler"/>: within each pixel the channels
    /// are drawn in order, each from its softmax at <paramref name="temperature"/> (logits / T) after re-running the
    /// network, so G is drawn given R and B given R and G. Costs C·H·W network passes.
    /// </summary>
    /// <param name="model">the network's module (eval mode during sampling).</param>
    /// <param name="parametersOf">the network: scaled images [n, C, H, W] → parameters [n, C·256, H, W].</param>
    /// <param name="shape">[n, C, H, W] of the images to draw.</param>
    /// <param name="temperature">divides the logits (1: the model's distribution).</param>
    /// <param name="device">where the images live (the network's device).</param>
    /// <param name="onPixel">called after each pixel (<see cref="AutoregressiveSampler.Sample"/>).</param>
    public static Tensor SampleAutoregressive(nn.Module model, Func<Tensor, Tensor> parametersOf, long[] shape,
        double temperature, Device device, Action<Tensor, long>? onPixel = null)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive");
        return AutoregressiveSampler.Sample(model, shape, device, (x, i, j) =>
        {
            for (long c = 0; c < shape[1]; c++)
            {
                using var step = NewDisposeScope();
                var logits = parametersOf(Scale(x)).narrow(1, c * Levels, Levels).select(2, i).select(2, j) / temperature; // [n, 256]
                var value = (logits - log(-log(rand_like(logits).clamp(1e-10, 1 - 1e-7)))).argmax(1);
                x.select(1, c).select(1, i).select(1, j).copy_(value.to(ScalarType.Byte));
            }
        }, onPixel);
    }
}
