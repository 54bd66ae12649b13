using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Metrics;
using Workbench.Nn;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// MAF as a density model of images (Papamakarios et al. 2017, Section 4): a uint8 image is dequantized with uniform
/// noise to x ∈ [0, 1)^D, mapped to logit space y = logit(λ + (1 − 2λ) x), and y to noise u by a
/// <see cref="MaskedAutoregressiveFlow"/> over the flattened pixels, u ~ N(0, I). The density of x is one pass; a sample
/// is D passes per MADE. log P(image) ≥ E_noise[log p(x)] − D log 256 (the dequantization bound, one draw per call), so
/// its bits/dim are comparable with Glow's.
/// </summary>
public sealed class MafImageFlow : nn.Module<Tensor, Tensor>, IPixelModel
{
    readonly MaskedAutoregressiveFlow maf;

    public MafImageFlow(MafConfig config) : base(nameof(MafImageFlow))
    {
        if (config.Lambda is <= 0 or >= 0.5) throw new ArgumentOutOfRangeException(nameof(config), config.Lambda, "MafConfig.Lambda must be in (0, 0.5)");
        Config = config;
        Dimensions = (long)config.ImageChannels * config.ImageSize * config.ImageSize;
        maf = new MaskedAutoregressiveFlow(Dimensions, config.Mades, config.Hidden, config.HiddenLayers);
        RegisterComponents();
    }

    public MafConfig Config { get; }

    /// <summary>D = C·H·W.</summary>
    public long Dimensions { get; }

    /// <summary>(u [B, D], log|det ∂u/∂x| [B]) for continuous images x [B, C, H, W] in [0, 1]: the logit transform, then the MAF.</summary>
    public (Tensor U, Tensor LogDet) Encode(Tensor x)
    {
        Shapes.Expect(x, "MafImageFlow: images", "B", Config.ImageChannels, Config.ImageSize, Config.ImageSize);
        using var scope = NewDisposeScope();
        double lambda = Config.Lambda;
        var s = lambda + (1 - 2 * lambda) * x.flatten(1);
        var y = log(s) - log1p(-s);
        // dy/dx = (1 − 2λ) / (s (1 − s))
        var logdet = (Math.Log(1 - 2 * lambda) - log(s) - log1p(-s)).sum(new long[] { 1 });
        var (u, mafLogdet) = maf.Forward(y);
        return (u.MoveToOuterDisposeScope(), (logdet + mafLogdet).MoveToOuterDisposeScope());
    }

    /// <summary>Continuous images [B, C, H, W] in [0, 1] for noise u [B, D]: the MAF's inverse (D passes per MADE), then the
    /// inverse logit transform.</summary>
    public Tensor Decode(Tensor u)
    {
        Shapes.Expect(u, "MafImageFlow: noise", "B", Dimensions);
        using var scope = NewDisposeScope();
        var s = sigmoid(maf.Inverse(u));
        return ((s - Config.Lambda) / (1 - 2 * Config.Lambda)).view(-1, Config.ImageChannels, Config.ImageSize, Config.ImageSize).MoveToOuterDisposeScope();
    }

    /// <summary>log p(x) in nats per image [B] of continuous images x [B, C, H, W] in [0, 1].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (u, logdet) = Encode(x);
        return (BitsPerDim.StandardNormalLogDensity(u) + logdet).MoveToOuterDisposeScope();
    }

    /// <summary>The dequantization bound on log P(images) in nats per image [B] of uint8 images [B, C, H, W]: one draw of
    /// uniform noise (libtorch's generator), log p((images + noise) / 256) − D log 256.</summary>
    public Tensor LogProb(Tensor images, Tensor? labels = null)
    {
        Shapes.Expect(images, "MafImageFlow: images", "B", Config.ImageChannels, Config.ImageSize, Config.ImageSize);
        using var scope = NewDisposeScope();
        var p = parameters().First();
        var x = (images.to(p.dtype).to(p.device) + rand(images.shape, dtype: p.dtype, device: p.device)) / 256.0;
        return (call(x) - Dimensions * Math.Log(256)).MoveToOuterDisposeScope();
    }

    /// <summary>n uint8 images [n, C, S, S] from u ~ N(0, T² I), without gradients; D network passes per MADE.
    /// <paramref name="onPixel"/> is called once, when every pixel is drawn (MAF fixes one coordinate per pass of each
    /// MADE, all images together).</summary>
    public Tensor Sample(int n, double temperature = 1.0, Tensor? labels = null, Action<Tensor, long>? onPixel = null)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var p = parameters().First();
        var x = EvalMode.Run(this, () => Decode(randn(n, Dimensions, dtype: p.dtype, device: p.device) * temperature));
        var images = (x * 256).floor().clamp(0, 255).to(ScalarType.Byte);
        onPixel?.Invoke(images, Dimensions / Config.ImageChannels);
        return images.MoveToOuterDisposeScope();
    }

    int IPixelModel.ImageChannels => Config.ImageChannels;
    int IPixelModel.ImageSize => Config.ImageSize;
    int IPixelModel.Classes => 0;
}
