using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// Self-attention at one low resolution of the U-Net (Ho et al. 2020, App. B: "self-attention block at the 16×16
/// resolution", after PixelSNAIL / SAGAN; the authors' AttnBlock): h = GroupNorm(x); q, k, v = 1×1 convs of h;
/// every position attends to all H·W positions with softmax(qᵀk/√C); output x + Conv1×1(attention·v). The output
/// conv starts at zero, so the block starts as the identity.
/// </summary>
public sealed class AttentionBlock : nn.Module<Tensor, Tensor>
{
    readonly GroupNorm norm;
    readonly Conv2d q;
    readonly Conv2d k;
    readonly Conv2d v;
    readonly Conv2d proj;

    public AttentionBlock(long channels, int groups) : base(nameof(AttentionBlock))
    {
        norm = TimeResidualBlock.Norm(groups, channels);
        q = nn.Conv2d(channels, channels, 1);
        k = nn.Conv2d(channels, channels, 1);
        v = nn.Conv2d(channels, channels, 1);
        proj = nn.Conv2d(channels, channels, 1);
        using (no_grad()) { proj.weight!.zero_(); proj.bias!.zero_(); }
        RegisterComponents();
    }

    /// <summary>The attention weights [B, HW, HW] (each row sums to 1), for inspection.</summary>
    public Tensor Weights(Tensor x)
    {
        using var scope = NewDisposeScope();
        return WeightsOf(norm.call(x)).MoveToOuterDisposeScope();
    }

    Tensor WeightsOf(Tensor h)
    {
        using var scope = NewDisposeScope();
        long b = h.shape[0], c = h.shape[1], n = h.shape[2] * h.shape[3];
        var qq = q.call(h).reshape(b, c, n).transpose(1, 2);              // [B, N, C]
        var kk = k.call(h).reshape(b, c, n);                              // [B, C, N]
        return softmax(bmm(qq, kk) / Math.Sqrt(c), 2).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], hh = x.shape[2], ww = x.shape[3];
        var h = norm.call(x);
        var w = WeightsOf(h);                                             // [B, N, N]
        var vv = v.call(h).reshape(b, c, hh * ww);             // [B, C, N]
        var attended = bmm(vv, w.transpose(1, 2)).reshape(b, c, hh, ww);  // out[:, :, i] = Σ_j w[i, j] v[:, j]
        return (x + proj.call(attended)).MoveToOuterDisposeScope();
    }
}
