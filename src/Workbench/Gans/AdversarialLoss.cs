using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>The discriminator's and the generator's loss of each <see cref="GanLoss"/>, from D's scores (logits or critic values).</summary>
public static class AdversarialLoss
{
    /// <summary>D's loss on real and fake scores: −E log σ(D(x)) − E log(1 − σ(D(G(z)))) for the minimax and non-saturating
    /// games, the negated W₁ estimate for the critic, the hinge.</summary>
    public static Tensor Discriminator(GanLoss loss, Tensor realScores, Tensor fakeScores) => loss switch
    {
        GanLoss.Minimax or GanLoss.NonSaturating => NonSaturatingLoss.Discriminator(realScores, fakeScores),
        GanLoss.Wasserstein => WassersteinLoss.Critic(realScores, fakeScores),
        GanLoss.Hinge => HingeLoss.Discriminator(realScores, fakeScores),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "unknown GAN loss"),
    };

    /// <summary>G's loss on the scores of its samples.</summary>
    public static Tensor Generator(GanLoss loss, Tensor fakeScores) => loss switch
    {
        GanLoss.Minimax => MinimaxLoss.Generator(fakeScores),
        GanLoss.NonSaturating => NonSaturatingLoss.Generator(fakeScores),
        GanLoss.Wasserstein => WassersteinLoss.Generator(fakeScores),
        GanLoss.Hinge => HingeLoss.Generator(fakeScores),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "unknown GAN loss"),
    };
}
