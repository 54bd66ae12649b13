using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// VQ-VAE's residual block (van den Oord et al. 2017, Section 4.1): x + conv1×1(ReLU(conv3×3(ReLU(x)))), the 3×3
/// convolution going from <c>channels</c> to <c>hidden</c> units and the 1×1 back.
/// </summary>
public sealed class VqResidualBlock : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv3;
    readonly Conv2d conv1;

    public VqResidualBlock(long channels, long hidden) : base(nameof(VqResidualBlock))
    {
        conv3 = nn.Conv2d(channels, hidden, 3, padding: 1);
        conv1 = nn.Conv2d(hidden, channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv1.call(nn.functional.relu(conv3.call(nn.functional.relu(x))));
        return (x + h).MoveToOuterDisposeScope();
    }
}
