using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// DCGAN's discriminator (Radford et al. 2016, Section 3): strided 4x4 convolutions halve the side and double the maps
/// down to 4x4 (the generator's widths mirrored), LeakyReLU 0.2 after each, batch norm after each but the first (and
/// none at all when <see cref="GanConfig.DiscriminatorBatchNorm"/> is off, as WGAN-GP's critic and SN-GAN have), then
/// a 4x4 convolution to one score. Every convolution is spectrally normalised when the config asks; a SAGAN
/// <see cref="SelfAttention"/> block follows the layer whose maps have side <see cref="GanConfig.Attention"/>. With
/// classes the label enters as one-hot channels or by projection on the sum-pooled 4x4 features.
/// </summary>
public sealed class DcganDiscriminator : GanDiscriminator
{
    readonly Sequential features;
    readonly SnConv2d score;

    public DcganDiscriminator(GanConfig config) : base(nameof(DcganDiscriminator), config, FeatureChannels(config))
    {
        bool bn = config.DiscriminatorBatchNorm, sn = config.SpectralNorm;
        long channels = config.Width;
        int side = config.Resolution / 2;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ($"conv{side}", new SnConv2d(config.ImageChannels + OneHotDim, channels, 4, 2, 1, sn)),
            ($"lrelu{side}", nn.LeakyReLU(0.2)),
        };
        if (config.Attention == side) layers.Add(($"attention{side}", new SelfAttention(channels, sn)));
        for (side /= 2; side >= 4; side /= 2)
        {
            layers.Add(($"conv{side}", new SnConv2d(channels, channels * 2, 4, 2, 1, sn, bias: !bn)));
            channels *= 2;
            if (bn) layers.Add(($"bn{side}", nn.BatchNorm2d(channels)));
            layers.Add(($"lrelu{side}", nn.LeakyReLU(0.2)));
            if (config.Attention == side) layers.Add(($"attention{side}", new SelfAttention(channels, sn)));
        }
        features = nn.Sequential(layers);
        score = new SnConv2d(channels, 1, 4, 1, 0, sn);
        RegisterComponents();
        DcganInit.Apply(this);
    }

    /// <summary>Maps at 4x4: Width·Resolution/8.</summary>
    static long FeatureChannels(GanConfig config) => (long)config.Width * config.Resolution / 8;

    public override Tensor Score(Tensor x, Tensor? labels = null)
    {
        Nn.Shapes.Expect(x, $"{GetName()}: x", "N", Config.ImageChannels, Config.Resolution, Config.Resolution);
        CheckLabels(labels, x.shape[0]);
        var input = OneHotDim > 0
            ? cat(new[] { x, OneHot(labels!, x)[.., .., TensorIndex.None, TensorIndex.None].expand(-1, -1, x.shape[2], x.shape[3]) }, 1)
            : x;
        var h = features.call(input);
        var psi = score.call(h).flatten();
        return Config.Projection ? WithProjection(psi, h.sum(new long[] { 2, 3 }), labels) : psi;
    }
}
