using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// A linear layer whose weight is divided by its largest singular value, W / σ(W) (Miyato et al. 2018, Eq. 8), σ from
/// <see cref="Nn.SpectralNorm"/>: one power iteration per forward pass in training mode (Algorithm 1), none in eval
/// mode (the kept u, v). With <c>spectralNorm</c> off it is the plain layer.
/// </summary>
public sealed class SnLinear : nn.Module<Tensor, Tensor>
{
    readonly Linear linear;
    readonly Nn.SpectralNorm? sn;

    public SnLinear(long inFeatures, long outFeatures, bool spectralNorm, bool bias = true) : base(nameof(SnLinear))
    {
        linear = nn.Linear(inFeatures, outFeatures, hasBias: bias);
        if (spectralNorm) sn = Nn.SpectralNorm.For(linear.weight!);
        RegisterComponents();
    }

    /// <summary>The inner layer (its weight is the unnormalised one).</summary>
    public Linear Inner => linear;

    /// <summary>The weight the layer applies: W / σ(W) with spectral normalisation, W without (no power iteration here).</summary>
    public Tensor Weight => sn is null ? linear.weight! : linear.weight! / sn.Sigma(linear.weight!, 0);

    public override Tensor forward(Tensor x)
    {
        if (sn is null) return linear.forward(x);
        var w = linear.weight!;
        return nn.functional.linear(x, w / sn.Sigma(w, training ? 1 : 0), linear.bias);
    }
}
