using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// SAGAN's self-attention block (Zhang et al. 2019, Section 3): with 1x1 convolutions f, g, h to C̄ = C/8 channels and v
/// back to C, s_ij = f(x_i)ᵀ g(x_j), β_j,i = softmax_i(s_ij) (Eq. 1), o_j = v(Σ_i β_j,i h(x_i)) (Eq. 2), and the output
/// y = γ·o + x with γ a scalar initialised to 0 (Eq. 3), so the block starts as the identity and the network learns how
/// much non-local evidence to use. Its convolutions are spectrally normalised when asked (SAGAN normalises G and D).
/// </summary>
public sealed class SelfAttention : nn.Module<Tensor, Tensor>
{
    readonly SnConv2d f, g, h, v;
    readonly TorchSharp.Modules.Parameter gamma;
    readonly long channels;

    public SelfAttention(long channels, bool spectralNorm = false) : base(nameof(SelfAttention))
    {
        long reduced = Math.Max(1, channels / 8);
        this.channels = channels;
        f = new SnConv2d(channels, reduced, 1, 1, 0, spectralNorm, bias: false);
        g = new SnConv2d(channels, reduced, 1, 1, 0, spectralNorm, bias: false);
        h = new SnConv2d(channels, reduced, 1, 1, 0, spectralNorm, bias: false);
        v = new SnConv2d(reduced, channels, 1, 1, 0, spectralNorm, bias: false);
        gamma = new TorchSharp.Modules.Parameter(zeros(1));
        RegisterComponents();
    }

    /// <summary>γ, the weight of the attention output (0 at initialisation).</summary>
    public TorchSharp.Modules.Parameter Gamma => gamma;

    /// <summary>The attention map β [N, HW (j, queries), HW (i, keys)] for x [N, C, H, W].</summary>
    public Tensor Map(Tensor x)
    {
        Nn.Shapes.Expect(x, "SelfAttention: x", "N", channels, "H", "W");
        var fx = f.call(x).flatten(2);   // [N, C̄, HW]
        var gx = g.call(x).flatten(2);
        return softmax(matmul(gx.transpose(1, 2), fx), -1);   // s_ij = f(x_i)ᵀ g(x_j), normalised over i
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var beta = Map(x);
        var hx = h.call(x).flatten(2);                          // [N, C̄, HW]
        var o = matmul(hx, beta.transpose(1, 2));               // o_j = Σ_i β_j,i h(x_i): [N, C̄, HW]
        o = v.call(o.reshape(x.shape[0], -1, x.shape[2], x.shape[3]));
        return (gamma * o + x).MoveToOuterDisposeScope();
    }
}
