using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// Squeeze-and-excitation (Hu et al. 2018), as NVAE puts at the end of every residual cell (Vahdat &amp; Kautz
/// 2020, Section 3.1, Fig. 3): global average pool → Linear(C→h) → ReLU → Linear(h→C) → sigmoid, and the input
/// is rescaled channel-wise by that gate. Hidden width h = max(C / reduction, minHidden) (NVAE's code uses 16 and 4).
/// </summary>
public sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>
{
    readonly Linear fc1;
    readonly Linear fc2;

    public SqueezeExcitation(long channels, int reduction = 16, int minHidden = 4) : base(nameof(SqueezeExcitation))
    {
        long hidden = Math.Max(channels / reduction, minHidden);
        fc1 = nn.Linear(channels, hidden);
        fc2 = nn.Linear(hidden, channels);
        RegisterComponents();
    }

    /// <summary>The per-channel gate in (0, 1), shape [B, C].</summary>
    public Tensor Gate(Tensor x)
    {
        using var scope = NewDisposeScope();
        var s = x.mean(new long[] { 2, 3 });
        return sigmoid(fc2.call(nn.functional.relu(fc1.call(s)))).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        if (x.dim() != 4) throw new ArgumentException($"SqueezeExcitation expects [B, C, H, W], got {Shapes.Of(x)}", nameof(x));
        using var scope = NewDisposeScope();
        var g = Gate(x);
        return (x * g.unsqueeze(-1).unsqueeze(-1)).MoveToOuterDisposeScope();
    }
}
