using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.StyleGan2;

/// <summary>
/// The synthesis network g: (w_0 … w_{numWs−1}) → image, in the skip architecture that replaces progressive growing
/// (StyleGAN2 Section 4.1, Fig. 7b): blocks from 4x4 to the output resolution, each adding its tRGB output to the
/// upsampled image so far. Takes one w per layer, ws: [N, NumWs, wDim].
/// </summary>
public sealed class SynthesisNetwork : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<SynthesisBlock> blocks;

    public SynthesisNetwork(StyleGan2Config config) : base(nameof(SynthesisNetwork))
    {
        config.Validate();
        Config = config;
        blocks = new ModuleList<SynthesisBlock>();
        for (int res = 4; res <= config.Resolution; res *= 2)
        {
            long cin = res == 4 ? 0 : config.Channels(res / 2);
            blocks.Add(new SynthesisBlock(cin, config.Channels(res), config.WDim, res, config.ImageChannels, config.Demodulate, config.FusedModconv));
        }
        RegisterComponents();
    }

    public StyleGan2Config Config { get; }
    public int NumWs => Config.NumWs;
    public IReadOnlyList<SynthesisBlock> Blocks => blocks.ToList();

    /// <summary>All style layers in order from 4x4 to the output (w index i drives layer i; the tRGBs share them).</summary>
    public IEnumerable<SynthesisLayer> Layers => blocks.SelectMany(b => b.Layers);

    public override Tensor forward(Tensor ws) => Forward(ws, NoiseMode.Random);

    public Tensor Forward(Tensor ws, NoiseMode mode)
    {
        Shapes.Expect(ws, "SynthesisNetwork: ws", "N", NumWs, Config.WDim);
        using var scope = NewDisposeScope();
        Tensor? x = null, img = null;
        int index = 0;
        foreach (var block in blocks)
        {
            // A block reads NumConv + 1 consecutive w's; its tRGB's w is the next block's first.
            var blockWs = ws.narrow(1, index, block.NumConv + 1);
            (x, img) = block.Forward(x, img, blockWs, mode);
            index += block.NumConv;
        }
        return img!.MoveToOuterDisposeScope();
    }
}
