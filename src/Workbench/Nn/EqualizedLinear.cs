using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// A fully connected layer with the equalized learning rate of Karras et al. (ProGAN, 2018, Section 4.1; kept in
/// StyleGAN2, Appendix B): the stored weight is drawn from N(0, 1) / lrMul and multiplied at run time by
/// lrMul / sqrt(fan_in) (the He constant), so every weight sees the same effective step size under Adam whatever
/// its fan-in. lrMul &lt; 1 (0.01 in the mapping network) slows a layer down by that factor.
/// The bias is stored divided by lrMul and multiplied by it at run time.
/// </summary>
public sealed class EqualizedLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public EqualizedLinear(long inFeatures, long outFeatures, bool bias = true, double lrMul = 1.0, double biasInit = 0.0)
        : base(nameof(EqualizedLinear))
    {
        if (inFeatures < 1 || outFeatures < 1)
            throw new ArgumentException($"EqualizedLinear: features must be positive, got in={inFeatures}, out={outFeatures}");
        if (!(lrMul > 0)) throw new ArgumentOutOfRangeException(nameof(lrMul), lrMul, "learning-rate multiplier must be positive");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        LrMul = lrMul;
        WeightGain = lrMul / Math.Sqrt(inFeatures);
        this.weight = nn.Parameter(randn(outFeatures, inFeatures) / lrMul);
        if (bias) this.bias = nn.Parameter(full(outFeatures, biasInit / lrMul));
        RegisterComponents();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public double LrMul { get; }

    /// <summary>The run-time multiplier of the stored weight: lrMul / sqrt(fan_in).</summary>
    public double WeightGain { get; }

    /// <summary>The stored (unscaled) weight [out, in].</summary>
    public Parameter Weight => weight;

    /// <summary>The stored (unscaled) bias [out], or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>The weight as the layer uses it: stored weight × lrMul / sqrt(fan_in).</summary>
    public Tensor EffectiveWeight() => weight * WeightGain;

    public override Tensor forward(Tensor x)
    {
        if (x.shape[^1] != InFeatures)
            throw new ArgumentException($"EqualizedLinear: expected last dimension {InFeatures}, got input {Shapes.Of(x)}");
        using var b = bias is null ? null : bias * LrMul;
        return nn.functional.linear(x, weight * WeightGain, b);
    }
}
