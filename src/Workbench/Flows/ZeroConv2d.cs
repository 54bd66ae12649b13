using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// A 3x3 convolution whose weight and bias start at zero, with a per-channel output scale exp(3 * logs) (logs
/// also zero), as the last layer of Glow's coupling network and of its priors (Section 3.3: "we initialize the
/// last convolution of each NN() with zeros, such that each affine coupling layer initially performs an
/// identity function"). With <see cref="GlowPadding.Edge"/> the input is padded as in Glow's code
/// (<see cref="EdgePadding"/>); with <see cref="GlowPadding.Zero"/>, with zeros; with <see cref="GlowPadding.Ones"/>,
/// with ones (glow-pytorch's ZeroConv2d: the input padded with value 1, then the convolution without padding).
/// </summary>
public sealed class ZeroConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly Parameter logs;
    readonly Parameter? edge;
    readonly bool onesPadding;

    public ZeroConv2d(long inChannels, long outChannels, GlowPadding padding = GlowPadding.Zero) : base(nameof(ZeroConv2d))
    {
        if (padding == GlowPadding.Edge) edge = EdgePadding.Weight(outChannels, inChannels, zero: true);
        onesPadding = padding == GlowPadding.Ones;
        conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        using (no_grad())
        {
            conv.weight!.zero_();
            conv.bias!.zero_();
        }
        logs = nn.Parameter(zeros(outChannels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = onesPadding
            ? nn.functional.conv2d(nn.functional.pad(x, new long[] { 1, 1, 1, 1 }, value: 1.0), conv.weight!, conv.bias)
            : conv.call(x);
        if (edge is not null) h = h + EdgePadding.Map(edge, x.shape[2], x.shape[3]);
        return h * (logs * 3).exp().view(1, -1, 1, 1);
    }
}
