using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// PixelCNN++'s gated ResNet block (Salimans et al. 2017, Sections 2.2-2.5, Figure 2, and their released code):
/// c = conv(concat_elu(x)) [+ nin(concat_elu(a)) for the short-cut inputs a]; c = conv(dropout(concat_elu(c))) with 2F
/// outputs; x + c₁ ⊙ σ(c₂). concat_elu(v) = elu([v, −v]). The convolutions are causal <see cref="ShiftedConv2d"/>s (2×3
/// down-shifted for the u stream, 2×2 down-right-shifted for the ul stream), so the block keeps each stream's order.
/// </summary>
public sealed class GatedResnet : nn.Module<Tensor, Tensor?, Tensor>
{
    readonly ShiftedConv2d input;
    readonly Conv2d? shortcut;
    readonly Dropout dropout;
    readonly ShiftedConv2d output;
    readonly long features;

    /// <param name="features">F, the stream's channels.</param>
    /// <param name="kind">the stream: u (down-shifted, 2×3) or ul (down-right-shifted, 2×2).</param>
    /// <param name="shortcutChannels">channels of the extra input a (0: none).</param>
    /// <param name="dropout">dropout rate before the second convolution.</param>
    public GatedResnet(long features, ShiftKind kind, long shortcutChannels, double dropout) : base(nameof(GatedResnet))
    {
        this.features = features;
        int kw = kind == ShiftKind.Down ? 3 : 2;
        input = new ShiftedConv2d(2 * features, features, 2, kw, kind);
        if (shortcutChannels > 0) shortcut = nn.Conv2d(2 * shortcutChannels, features, 1);
        this.dropout = nn.Dropout(dropout);
        output = new ShiftedConv2d(2 * features, 2 * features, 2, kw, kind);
        RegisterComponents();
    }

    /// <summary>elu([v, −v]) along the channels.</summary>
    public static Tensor ConcatElu(Tensor v) => nn.functional.elu(cat(new[] { v, -v }, 1), 1.0, false);

    public override Tensor forward(Tensor x, Tensor? a)
    {
        using var scope = NewDisposeScope();
        var c = input.call(ConcatElu(x));
        if (shortcut is not null)
        {
            if (a is null) throw new ArgumentException("GatedResnet: this block needs its short-cut input a", nameof(a));
            c = c + shortcut.call(ConcatElu(a));
        }
        c = output.call(dropout.call(ConcatElu(c)));
        return (x + c.narrow(1, 0, features) * sigmoid(c.narrow(1, features, features))).MoveToOuterDisposeScope();
    }
}
