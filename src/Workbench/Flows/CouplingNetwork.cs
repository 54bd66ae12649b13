using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// Glow's coupling network NN() (Section 3.3, Figure 2 and Appendix): conv3x3 - ReLU - conv1x1 - ReLU -
/// zero-initialised conv3x3 (<see cref="ZeroConv2d"/>), so every coupling starts at its initial form.
/// With <see cref="GlowPadding.Edge"/> both 3x3 convolutions pad as Glow's code does (<see cref="EdgePadding"/>).
/// (Glow also puts ActNorm after the first two convolutions; we use plain biases.)
/// </summary>
public sealed class CouplingNetwork : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1;
    readonly Conv2d conv2;
    readonly ZeroConv2d conv3;
    readonly Parameter? edge1;

    public CouplingNetwork(long inChannels, long hiddenChannels, long outChannels, GlowPadding padding = GlowPadding.Zero)
        : base(nameof(CouplingNetwork))
    {
        conv1 = nn.Conv2d(inChannels, hiddenChannels, 3, padding: 1);
        if (padding == GlowPadding.Edge) edge1 = EdgePadding.Weight(hiddenChannels, inChannels, zero: false);
        conv2 = nn.Conv2d(hiddenChannels, hiddenChannels, 1);
        conv3 = new ZeroConv2d(hiddenChannels, outChannels, padding);
        RegisterComponents();
    }

    /// <remarks>
    /// The three convolutions run on a channels-last (NHWC) copy of the input, which oneDNN convolves without reordering
    /// activations to and from its blocked layout around every convolution; the result returns to NCHW.
    /// </remarks>
    public override Tensor forward(Tensor x)
    {
        var h = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        var h1 = conv1.call(h);
        if (edge1 is not null) h1 = h1 + EdgePadding.Map(edge1, x.shape[2], x.shape[3]);
        return conv3.call(nn.functional.relu(conv2.call(nn.functional.relu(h1)))).contiguous();
    }
}
