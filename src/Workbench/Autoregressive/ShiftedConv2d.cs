using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>Which pixels a <see cref="ShiftedConv2d"/> or <see cref="ShiftedConvTranspose2d"/> reads.</summary>
public enum ShiftKind
{
    /// <summary>The kernel covers the current row and rows above, centred horizontally (PixelCNN++'s "down-shifted").</summary>
    Down,
    /// <summary>The kernel covers the current row and rows above, at and left of the current column ("down-right-shifted").</summary>
    DownRight,
}

/// <summary>A shift of the output by one pixel, applied after the convolution (only the input layers use it).</summary>
public enum OutputShift { None, Down, Right }

/// <summary>
/// PixelCNN++'s causal convolutions (Salimans et al. 2017, Section 2.3, and their released code): instead of masking, the
/// input is zero-padded on the top (and left, or both sides) so that a kh×kw kernel at output (i, j) reads only rows
/// i−kh+1..i and columns j−⌊kw/2⌋..j+⌊kw/2⌋ (<see cref="ShiftKind.Down"/>) or j−kw+1..j (<see cref="ShiftKind.DownRight"/>).
/// Stride 2 halves the resolution (the down-sampling of the U-Net shape). <see cref="OutputShift"/> moves the result one
/// row down or one column right (zero filled), which turns "up to and including the current pixel" into "strictly before".
/// </summary>
public sealed class ShiftedConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly long[] padding;
    readonly OutputShift shift;

    /// <param name="inChannels">input channels.</param>
    /// <param name="outChannels">output channels.</param>
    /// <param name="kernelHeight">kernel height (rows up to and including the current one).</param>
    /// <param name="kernelWidth">kernel width (odd for <see cref="ShiftKind.Down"/>).</param>
    /// <param name="kind">down- or down-right-shifted.</param>
    /// <param name="stride">1, or 2 to halve the resolution.</param>
    /// <param name="shift">shift of the output.</param>
    public ShiftedConv2d(long inChannels, long outChannels, int kernelHeight, int kernelWidth, ShiftKind kind, int stride = 1,
        OutputShift shift = OutputShift.None) : base(nameof(ShiftedConv2d))
    {
        if (kind == ShiftKind.Down && kernelWidth % 2 != 1)
            throw new ArgumentException($"a down-shifted kernel needs an odd width, got {kernelWidth}", nameof(kernelWidth));
        padding = kind == ShiftKind.Down
            ? new long[] { kernelWidth / 2, kernelWidth / 2, kernelHeight - 1, 0 }   // left, right, top, bottom
            : new long[] { kernelWidth - 1, 0, kernelHeight - 1, 0 };
        this.shift = shift;
        conv = nn.Conv2d(inChannels, outChannels, (kernelHeight, kernelWidth), stride: (stride, stride));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = conv.call(nn.functional.pad(x, padding));
        return Shift(y, shift).MoveToOuterDisposeScope();
    }

    /// <summary>y moved one row down or one column right, zero filled, same shape.</summary>
    public static Tensor Shift(Tensor y, OutputShift shift) => shift switch
    {
        OutputShift.Down => nn.functional.pad(y, new long[] { 0, 0, 1, 0 }).narrow(2, 0, y.shape[2]),
        OutputShift.Right => nn.functional.pad(y, new long[] { 1, 0, 0, 0 }).narrow(3, 0, y.shape[3]),
        _ => y,
    };
}
