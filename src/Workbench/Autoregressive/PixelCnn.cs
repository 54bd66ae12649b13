using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// PixelCNN (van den Oord et al. 2016a, Sections 2, 3.4-3.5): p(x) = Π_i p(x_i | x_&lt;i) over pixels in raster order and
/// R, G, B within a pixel (Eq. 1-2). A mask-A convolution, residual blocks of mask-B convolutions
/// (<see cref="PixelCnnResidualBlock"/>), then ReLU, 1×1 mask B, ReLU, 1×1 mask B to 256 logits per sub-pixel
/// (<see cref="PixelCategorical"/>). The log-likelihood is exact; sampling runs the network once per sub-pixel. Stacked
/// masked convolutions leave a blind spot above-right of each pixel (2016b, Section 2.2); <see cref="GatedPixelCnn"/>
/// removes it.
/// </summary>
public sealed class PixelCnn : nn.Module<Tensor, Tensor>, IPixelModel
{
    readonly MaskedConv2d input;
    readonly ModuleList<PixelCnnResidualBlock> blocks;
    readonly MaskedConv2d hidden;
    readonly MaskedConv2d output;
    static readonly PixelCategorical Likelihood = new();

    public PixelCnn(PixelCnnConfig config) : base(nameof(PixelCnn))
    {
        if (config.Features < 2 * config.ImageChannels)
            throw new ArgumentException($"PixelCnnConfig.Features = {config.Features} must be at least 2·ImageChannels = {2 * config.ImageChannels}", nameof(config));
        Config = config;
        long c = config.ImageChannels;
        input = new MaskedConv2d(c, config.Features, config.FirstKernel, MaskType.A, c);
        blocks = new ModuleList<PixelCnnResidualBlock>(Enumerable.Range(0, config.ResidualBlocks)
            .Select(_ => new PixelCnnResidualBlock(config.Features, config.Kernel, c)).ToArray());
        hidden = new MaskedConv2d(config.Features, config.OutputFeatures, 1, MaskType.B, c);
        output = new MaskedConv2d(config.OutputFeatures, c * PixelCategorical.Levels, 1, MaskType.B, c);
        RegisterComponents();
    }

    public PixelCnnConfig Config { get; }

    /// <summary>The last 1×1 layer (zeroing it gives the uniform model).</summary>
    public MaskedConv2d OutputLayer => output;

    /// <summary>Logits [B, C·256, H, W] of every sub-pixel given the scaled image x [B, C, H, W] (values in [−1, 1]);
    /// the logits of sub-pixel (i, c) depend only on the sub-pixels before it.</summary>
    public override Tensor forward(Tensor x)
    {
        Shapes.Expect(x, "PixelCnn: images", "B", Config.ImageChannels, "H", "W");
        using var scope = NewDisposeScope();
        var h = input.call(x);
        foreach (var block in blocks) h = block.call(h);
        h = hidden.call(nn.functional.relu(h));
        return output.call(nn.functional.relu(h)).MoveToOuterDisposeScope();
    }

    /// <summary>Exact log p(x) in nats per image [B] of uint8 images [B, C, H, W].</summary>
    public Tensor LogProb(Tensor images) =>
        PixelLikelihood.LogProb(this, x => call(x), Likelihood, images, Config.ImageChannels, "PixelCnn");

    /// <summary>Bits per sub-pixel [B]: −log2 p(x) / (C·H·W).</summary>
    public Tensor BitsPerDim(Tensor images) => PixelLikelihood.BitsPerDim(LogProb(images), images);

    /// <summary>n uint8 images [n, C, S, S] (S = ImageSize), drawn sub-pixel by sub-pixel in eval mode.</summary>
    public Tensor Sample(int n, double temperature = 1.0, Action<Tensor, long>? onPixel = null)
    {
        var p = parameters().First();
        return PixelCategorical.SampleAutoregressive(this, x => call(x.to(p.dtype)),
            new long[] { n, Config.ImageChannels, Config.ImageSize, Config.ImageSize }, temperature, p.device, onPixel);
    }

    int IPixelModel.ImageChannels => Config.ImageChannels;
    int IPixelModel.ImageSize => Config.ImageSize;
    int IPixelModel.Classes => 0;
    Tensor IPixelModel.LogProb(Tensor images, Tensor? labels) => LogProb(images);
    Tensor IPixelModel.Sample(int n, double temperature, Tensor? labels, Action<Tensor, long>? onPixel) => Sample(n, temperature, onPixel);
}
