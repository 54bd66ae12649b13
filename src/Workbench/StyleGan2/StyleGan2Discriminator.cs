using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.StyleGan2;

/// <summary>
/// The residual discriminator of StyleGAN2 (Section 4.1, Fig. 7c; config E/F): residual blocks from the output
/// resolution down to 4x4, then the minibatch-stddev epilogue. Returns one logit per image [N].
/// </summary>
public sealed class StyleGan2Discriminator : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<DiscriminatorBlock> blocks;
    private readonly DiscriminatorEpilogue epilogue;

    public StyleGan2Discriminator(StyleGan2Config config) : base(nameof(StyleGan2Discriminator))
    {
        config.Validate();
        Config = config;
        blocks = new ModuleList<DiscriminatorBlock>();
        for (int res = config.Resolution; res > 4; res /= 2)
            blocks.Add(new DiscriminatorBlock(config.Channels(res), config.Channels(res / 2), res,
                imageChannels: res == config.Resolution ? config.ImageChannels : 0));
        epilogue = new DiscriminatorEpilogue(config.Channels(4), config.MbstdGroupSize, config.MbstdFeatures);
        RegisterComponents();
    }

    public StyleGan2Config Config { get; }

    /// <summary>Logits [N] for images [N, C, R, R] in [−1, 1].</summary>
    public override Tensor forward(Tensor img)
    {
        int r = Config.Resolution;
        Shapes.Expect(img, "Discriminator: images", "N", Config.ImageChannels, r, r);
        using var scope = NewDisposeScope();
        var x = img;
        foreach (var b in blocks) x = b.call(x);
        return epilogue.call(x).MoveToOuterDisposeScope();
    }
}
