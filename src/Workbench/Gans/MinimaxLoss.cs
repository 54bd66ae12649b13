using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The generator's side of the original minimax game (Goodfellow et al. 2014, Eq. 1): G minimises
/// E log(1 − D(G(z))) = −E softplus(l) for logits l, D(G(z)) = σ(l). Its gradient with respect to D(G(z)) is
/// −1/(1 − D(G(z))): near −1 where D confidently rejects a sample (D → 0), so G learns little early in training
/// (the saturation of Section 3). The discriminator's side is the same as the non-saturating game's
/// (<see cref="StyleGan2.NonSaturatingLoss.Discriminator"/>). Batch means.
/// </summary>
public static class MinimaxLoss
{
    public static Tensor Generator(Tensor fakeLogits)
    {
        using var scope = NewDisposeScope();
        return (-nn.functional.softplus(fakeLogits).mean()).MoveToOuterDisposeScope();
    }
}
