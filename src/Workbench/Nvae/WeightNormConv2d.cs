using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// A Conv2d with weight normalisation (Salimans &amp; Kingma 2016), as NVAE applies it to its convolutions
/// (Vahdat &amp; Kautz 2020, Section 3.1; NVAE's Conv2D): per output channel o, w_o = g_o · v_o / (‖v_o‖ + 1e-5),
/// with g stored as log g (initialised to log(‖v_o‖ + 0.01), so the layer starts close to the plain conv). The
/// direction v and the bias live in the inner <see cref="Conv"/>; <see cref="Weight"/> is the weight the layer
/// applies, which is also what the spectral regulariser bounds. With <c>weightNorm</c> off it is the plain conv.
/// </summary>
public sealed class WeightNormConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly Parameter? logGain;   // [O, 1, 1, 1]
    readonly long stride, padding, groups;

    public WeightNormConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        long groups = 1, bool bias = true, bool weightNorm = true) : base(nameof(WeightNormConv2d))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, groups: groups, bias: bias);
        this.stride = stride; this.padding = padding; this.groups = groups;
        if (weightNorm)
            using (no_grad())
                logGain = new Parameter(log(RowNorm(conv.weight!) + 1e-2));
        RegisterComponents();
    }

    static Tensor RowNorm(Tensor w) => w.square().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();

    /// <summary>The direction v and the bias.</summary>
    public Conv2d Conv => conv;

    /// <summary>log g per output channel [O, 1, 1, 1] (null without weight normalisation).</summary>
    public Parameter? LogGain => logGain;

    public bool Normalized => logGain is not null;

    /// <summary>The applied weight: g · v / (‖v‖ + 1e-5) per output channel, or v itself without normalisation.</summary>
    public Tensor Weight => logGain is null ? conv.weight! : logGain.exp() * conv.weight! / (RowNorm(conv.weight!) + 1e-5);

    public override Tensor forward(Tensor x)
    {
        if (logGain is null) return conv.call(x);
        using var scope = NewDisposeScope();
        return nn.functional.conv2d(x, Weight, conv.bias, strides: new[] { stride, stride }, padding: new[] { padding, padding },
            groups: groups).MoveToOuterDisposeScope();
    }
}
