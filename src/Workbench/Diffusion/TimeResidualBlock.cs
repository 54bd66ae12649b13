using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// The U-Net's residual block (Ho et al. 2020, App. B, after Wide ResNet / PixelCNN++; the authors' ResnetBlock):
/// h = Conv3×3(SiLU(GroupNorm(x))) + Linear(SiLU(temb)), then h = Conv3×3(Dropout(SiLU(GroupNorm(h)))), output
/// skip(x) + h, with skip a 1×1 conv when the width changes. The second conv starts at zero, as in the authors'
/// code, so every block starts as the identity (skip).
/// </summary>
public sealed class TimeResidualBlock : nn.Module<Tensor, Tensor, Tensor>
{
    readonly GroupNorm norm0;
    readonly Conv2d conv0;
    readonly Linear tembProj;
    readonly GroupNorm norm1;
    readonly Dropout dropout;
    readonly Conv2d conv1;
    readonly Conv2d? skip;

    public TimeResidualBlock(long inChannels, long outChannels, long tembChannels, int groups, double dropoutRate = 0)
        : base(nameof(TimeResidualBlock))
    {
        norm0 = Norm(groups, inChannels);
        conv0 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        tembProj = nn.Linear(tembChannels, outChannels);
        norm1 = Norm(groups, outChannels);
        dropout = nn.Dropout(dropoutRate);
        conv1 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        using (no_grad()) { conv1.weight!.zero_(); conv1.bias!.zero_(); }
        if (inChannels != outChannels) skip = nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>GroupNorm over <paramref name="channels"/> with <see cref="Groups"/> groups, scale 1 and shift 0 (set here:
    /// TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised, sometimes NaN).</summary>
    public static GroupNorm Norm(int groups, long channels)
    {
        var norm = nn.GroupNorm(Groups(groups, channels), channels);
        using (no_grad()) { norm.weight!.fill_(1); norm.bias!.zero_(); }
        return norm;
    }

    /// <summary>The largest group count ≤ <paramref name="groups"/> that divides <paramref name="channels"/> (GroupNorm's
    /// requirement; the paper's 32 groups need widths that are multiples of 32).</summary>
    public static long Groups(int groups, long channels)
    {
        long g = Math.Min(groups, channels);
        while (channels % g != 0) g--;
        return g;
    }

    /// <summary>x [B, C_in, H, W], temb [B, E] → [B, C_out, H, W].</summary>
    public override Tensor forward(Tensor x, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var h = conv0.call(nn.functional.silu(norm0.call(x)));
        h = h + tembProj.call(nn.functional.silu(temb)).unsqueeze(-1).unsqueeze(-1);
        h = conv1.call(dropout.call(nn.functional.silu(norm1.call(h))));
        var s = skip is null ? x : skip.call(x);
        return (s + h).MoveToOuterDisposeScope();
    }
}
