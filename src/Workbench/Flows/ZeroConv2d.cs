using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// A 3x3 convolution whose weight and bias start at zero, with a per-channel output scale exp(3 * logs) (logs
/// also zero), as the last layer of Glow's coupling network and of its priors (Section 3.3: "we initialize the
/// last convolution of each NN() with zeros, such that each affine coupling layer initially performs an
/// identity function").
/// </summary>
public sealed class ZeroConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly Parameter logs;

    public ZeroConv2d(long inChannels, long outChannels) : base(nameof(ZeroConv2d))
    {
        conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        using (no_grad())
        {
            conv.weight!.zero_();
            conv.bias!.zero_();
        }
        logs = nn.Parameter(zeros(outChannels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => conv.call(x) * (logs * 3).exp().view(1, -1, 1, 1);
}
