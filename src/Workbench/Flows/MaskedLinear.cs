using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// MADE's masked dense layer (Germain et al. 2015, Section 4, Eq. 10-11): h = g(b + (W ⊙ M) x) with a fixed 0/1 mask M
/// [out, in] (a buffer), so unit k connects only to the inputs its mask allows.
/// </summary>
public sealed class MaskedLinear : nn.Module<Tensor, Tensor>
{
    readonly Linear linear;
    readonly Tensor mask;   // a buffer: it moves with the module

    /// <param name="mask">0/1 mask [out, in]; its shape sets the layer's sizes.</param>
    public MaskedLinear(Tensor mask) : base(nameof(MaskedLinear))
    {
        if (mask.dim() != 2) throw new ArgumentException($"MaskedLinear: mask must be [out, in], got [{string.Join(", ", mask.shape)}]", nameof(mask));
        this.mask = mask.to(ScalarType.Float32);
        linear = nn.Linear(mask.shape[1], mask.shape[0]);
        RegisterComponents();
        using (no_grad()) linear.weight!.mul_(this.mask);
    }

    /// <summary>The underlying linear layer (its weight is masked in the forward pass).</summary>
    public Linear Linear => linear;

    public override Tensor forward(Tensor x) => nn.functional.linear(x, linear.weight! * mask, linear.bias);
}
