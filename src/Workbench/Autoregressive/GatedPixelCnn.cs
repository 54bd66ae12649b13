using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// Gated PixelCNN (van den Oord et al. 2016b): <see cref="GatedPixelCnnLayer"/>s with vertical and horizontal stacks
/// (Section 2.2, no blind spot), gated activations (Eq. 2) and optional class conditioning (Section 2.3, Eq. 4); the
/// horizontal stack ends in ReLU, 1×1 mask B, ReLU, 1×1 mask B to 256 logits per sub-pixel (<see cref="PixelCategorical"/>).
/// Exact log-likelihood; sampling runs the network once per sub-pixel.
/// </summary>
public sealed class GatedPixelCnn : nn.Module<Tensor, Tensor?, Tensor>, IPixelModel
{
    readonly ModuleList<GatedPixelCnnLayer> layers;
    readonly MaskedConv2d hidden;
    readonly MaskedConv2d output;
    static readonly PixelCategorical Likelihood = new();

    public GatedPixelCnn(GatedPixelCnnConfig config) : base(nameof(GatedPixelCnn))
    {
        if (config.Layers < 1) throw new ArgumentException($"GatedPixelCnnConfig.Layers must be at least 1, got {config.Layers}", nameof(config));
        Config = config;
        long c = config.ImageChannels;
        layers = new ModuleList<GatedPixelCnnLayer>(Enumerable.Range(0, config.Layers)
            .Select(k => new GatedPixelCnnLayer(k == 0 ? c : config.Features, config.Features, config.Kernel,
                k == 0 ? MaskType.A : MaskType.B, c, config.Classes)).ToArray());
        hidden = new MaskedConv2d(config.Features, config.OutputFeatures, 1, MaskType.B, c);
        output = new MaskedConv2d(config.OutputFeatures, c * PixelCategorical.Levels, 1, MaskType.B, c);
        RegisterComponents();
    }

    public GatedPixelCnnConfig Config { get; }

    /// <summary>Logits [B, C·256, H, W] of every sub-pixel given the scaled image x [B, C, H, W] (values in [−1, 1]) and,
    /// for a conditional model, class labels [B] (int64).</summary>
    public override Tensor forward(Tensor x, Tensor? labels)
    {
        Shapes.Expect(x, "GatedPixelCnn: images", "B", Config.ImageChannels, "H", "W");
        if (Config.Classes > 0)
        {
            if (labels is null) throw new ArgumentException($"GatedPixelCnn: labels [B] are required (Classes = {Config.Classes})", nameof(labels));
            Shapes.Expect(labels, "GatedPixelCnn: labels", x.shape[0]);
        }
        using var scope = NewDisposeScope();
        Tensor v = x, h = x;
        foreach (var layer in layers) (v, h) = layer.Forward(v, h, Config.Classes > 0 ? labels : null);
        h = hidden.call(nn.functional.relu(h));
        return output.call(nn.functional.relu(h)).MoveToOuterDisposeScope();
    }

    /// <summary>Exact log p(x | y) in nats per image [B] of uint8 images [B, C, H, W].</summary>
    public Tensor LogProb(Tensor images, Tensor? labels = null) =>
        PixelLikelihood.LogProb(this, x => call(x, labels?.to(x.device)), Likelihood, images, Config.ImageChannels, "GatedPixelCnn");

    /// <summary>Bits per sub-pixel [B]: −log2 p(x | y) / (C·H·W).</summary>
    public Tensor BitsPerDim(Tensor images, Tensor? labels = null) => PixelLikelihood.BitsPerDim(LogProb(images, labels), images);

    /// <summary>n uint8 images [n, C, S, S], drawn sub-pixel by sub-pixel in eval mode; <paramref name="labels"/> [n] for a
    /// conditional model.</summary>
    public Tensor Sample(int n, double temperature = 1.0, Tensor? labels = null, Action<Tensor, long>? onPixel = null)
    {
        var p = parameters().First();
        var y = labels?.to(p.device);
        return PixelCategorical.SampleAutoregressive(this, x => call(x.to(p.dtype), y),
            new long[] { n, Config.ImageChannels, Config.ImageSize, Config.ImageSize }, temperature, p.device, onPixel);
    }

    int IPixelModel.ImageChannels => Config.ImageChannels;
    int IPixelModel.ImageSize => Config.ImageSize;
    int IPixelModel.Classes => Config.Classes;
}
