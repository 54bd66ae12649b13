using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// PixelCNN++'s causal up-sampling (Salimans et al. 2017, Section 2.4, and their released code): a stride-2 transposed
/// convolution with a 2×3 (<see cref="ShiftKind.Down"/>) or 2×2 (<see cref="ShiftKind.DownRight"/>) kernel, cropped so that
/// an output pixel receives only input pixels at or above (and, down-right, at or left of) it: H×W → 2H×2W.
/// </summary>
public sealed class ShiftedConvTranspose2d : nn.Module<Tensor, Tensor>
{
    readonly ConvTranspose2d deconv;
    readonly ShiftKind kind;

    public ShiftedConvTranspose2d(long inChannels, long outChannels, ShiftKind kind) : base(nameof(ShiftedConvTranspose2d))
    {
        this.kind = kind;
        long kw = kind == ShiftKind.Down ? 3 : 2;
        deconv = nn.ConvTranspose2d(inChannels, outChannels, (2, kw), stride: (2, 2), output_padding: (1, 1));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long h = x.shape[2], w = x.shape[3];
        var y = deconv.call(x); // [B, C, 2H + 1, 2W + kw − 1]
        y = kind == ShiftKind.Down ? y.narrow(2, 0, 2 * h).narrow(3, 1, 2 * w) : y.narrow(2, 0, 2 * h).narrow(3, 0, 2 * w);
        return y.MoveToOuterDisposeScope();
    }
}
