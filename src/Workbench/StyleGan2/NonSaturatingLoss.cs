using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// The non-saturating logistic GAN loss (Goodfellow et al. 2014; used by StyleGAN and StyleGAN2), written with
/// softplus for numerical safety: D minimises softplus(D(G(z))) + softplus(−D(x)) = −log(1 − σ(D(G(z)))) − log σ(D(x)),
/// G minimises softplus(−D(G(z))) = −log σ(D(G(z))). Inputs are logits; results are batch means.
/// </summary>
public static class NonSaturatingLoss
{
    public static Tensor Generator(Tensor fakeLogits)
    {
        using var scope = NewDisposeScope();
        return nn.functional.softplus(-fakeLogits).mean().MoveToOuterDisposeScope();
    }

    public static Tensor Discriminator(Tensor realLogits, Tensor fakeLogits)
    {
        using var scope = NewDisposeScope();
        return (nn.functional.softplus(fakeLogits).mean() + nn.functional.softplus(-realLogits).mean()).MoveToOuterDisposeScope();
    }
}
