using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDPM's noise predictor ε_θ(x_t, t) (Ho et al. 2020, App. B; a PixelCNN++-style U-Net, Ronneberger et al. 2015):
/// a 3×3 stem to <c>Channels</c>; per resolution <c>ResBlocks</c> <see cref="TimeResidualBlock"/>s (each followed by an
/// <see cref="AttentionBlock"/> where the side is in <c>AttentionResolutions</c>) then a stride-2 3×3 conv down; a
/// middle of residual–attention–residual; the way up mirrors it with one more block per resolution, each taking the
/// matching down-path activation concatenated on the channels, and nearest-neighbour upsampling
/// (<see cref="NearestUpsample"/>) + 3×3 conv to the skip's size (so odd sides such as 7 work); GroupNorm–SiLU–3×3 conv (zero-initialised) out. Every block sees the
/// timestep through <see cref="SinusoidalTimeEmbedding"/>. Built from TorchSharp's layers (the workbench's Nn parts
/// are StyleGAN2's and NVAE's equalized, spectral and depthwise layers, which DDPM does not use).
/// </summary>
public sealed class UNet : nn.Module<Tensor, Tensor, Tensor>
{
    readonly SinusoidalTimeEmbedding temb;
    readonly Conv2d stem;
    readonly ModuleList<nn.Module> down;       // TimeResidualBlock, AttentionBlock or Conv2d (downsample), in order
    readonly TimeResidualBlock mid0;
    readonly AttentionBlock midAttn;
    readonly TimeResidualBlock mid1;
    readonly ModuleList<nn.Module> up;         // TimeResidualBlock, AttentionBlock or Conv2d (after upsampling), in order
    readonly GroupNorm normOut;
    readonly Conv2d convOut;
    readonly string[] _downKinds;              // "res", "attn", "down"
    readonly string[] _upKinds;                // "res", "attn", "up"

    public UNet(DiffusionConfig config) : base(nameof(UNet))
    {
        Config = config;
        int ch = config.Channels, g = config.NormGroups;
        var mult = config.Multipliers;
        temb = new SinusoidalTimeEmbedding(ch);
        long e = temb.OutputDim;
        stem = nn.Conv2d(config.ImageChannels, ch, 3, padding: 1);

        var downMods = new List<nn.Module>();
        var downKinds = new List<string>();
        var skipChannels = new List<long> { ch };
        long cur = ch;
        int side = config.ImageSize;
        for (int level = 0; level < mult.Length; level++)
        {
            for (int r = 0; r < config.ResBlocks; r++)
            {
                downMods.Add(new TimeResidualBlock(cur, ch * mult[level], e, g, config.Dropout)); downKinds.Add("res");
                cur = ch * mult[level];
                if (config.Attention.Contains(side)) { downMods.Add(new AttentionBlock(cur, g)); downKinds.Add("attn"); }
                skipChannels.Add(cur);
            }
            if (level < mult.Length - 1)
            {
                downMods.Add(nn.Conv2d(cur, cur, 3, stride: 2, padding: 1)); downKinds.Add("down");
                skipChannels.Add(cur);
                side = (side + 1) / 2;
            }
        }
        mid0 = new TimeResidualBlock(cur, cur, e, g, config.Dropout);
        midAttn = new AttentionBlock(cur, g);
        mid1 = new TimeResidualBlock(cur, cur, e, g, config.Dropout);

        var upMods = new List<nn.Module>();
        var upKinds = new List<string>();
        for (int level = mult.Length - 1; level >= 0; level--)
        {
            for (int r = 0; r < config.ResBlocks + 1; r++)
            {
                long skipC = skipChannels[^1];
                skipChannels.RemoveAt(skipChannels.Count - 1);
                upMods.Add(new TimeResidualBlock(cur + skipC, ch * mult[level], e, g, config.Dropout)); upKinds.Add("res");
                cur = ch * mult[level];
                if (config.Attention.Contains(side)) { upMods.Add(new AttentionBlock(cur, g)); upKinds.Add("attn"); }
            }
            if (level > 0)
            {
                upMods.Add(nn.Conv2d(cur, cur, 3, padding: 1)); upKinds.Add("up");
                side *= 2;   // nominal; the actual size follows the skip
            }
        }
        down = nn.ModuleList(downMods.ToArray());
        up = nn.ModuleList(upMods.ToArray());
        _downKinds = downKinds.ToArray();
        _upKinds = upKinds.ToArray();
        normOut = TimeResidualBlock.Norm(g, cur);
        convOut = nn.Conv2d(cur, config.ImageChannels, 3, padding: 1);
        using (no_grad()) { convOut.weight!.zero_(); convOut.bias!.zero_(); }
        RegisterComponents();
    }

    public DiffusionConfig Config { get; }

    /// <summary>ε̂ = ε_θ(x_t, t) for x_t [B, C, H, W] and code timesteps t [B] (int64).</summary>
    public override Tensor forward(Tensor x, Tensor t)
    {
        using var scope = NewDisposeScope();
        var e = temb.call(t);
        var h = stem.call(x);
        var skips = new List<Tensor> { h };
        for (int i = 0; i < _downKinds.Length; i++)
        {
            switch (_downKinds[i])
            {
                case "res": h = ((TimeResidualBlock)down[i]).call(h, e); break;
                case "attn": h = ((AttentionBlock)down[i]).call(h); break;
                case "down": h = ((Conv2d)down[i]).call(h); break;
            }
            // a skip after each residual block (after its attention, if any) and after each downsampling
            bool endOfUnit = _downKinds[i] == "down" || (_downKinds[i] == "res" && (i + 1 >= _downKinds.Length || _downKinds[i + 1] != "attn"))
                             || _downKinds[i] == "attn";
            if (endOfUnit) skips.Add(h);
        }
        h = mid1.call(midAttn.call(mid0.call(h, e)), e);
        for (int i = 0; i < _upKinds.Length; i++)
        {
            switch (_upKinds[i])
            {
                case "res":
                    var s = skips[^1];
                    skips.RemoveAt(skips.Count - 1);
                    h = ((TimeResidualBlock)up[i]).call(cat(new[] { h, s }, 1), e);
                    break;
                case "attn": h = ((AttentionBlock)up[i]).call(h); break;
                case "up":
                    var target = skips[^1];
                    h = NearestUpsample.Apply(h, target.shape[2], target.shape[3]);
                    h = ((Conv2d)up[i]).call(h);
                    break;
            }
        }
        return convOut.call(nn.functional.silu(normOut.call(h))).MoveToOuterDisposeScope();
    }
}
