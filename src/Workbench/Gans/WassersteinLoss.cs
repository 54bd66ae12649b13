using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The Wasserstein GAN's losses (Arjovsky et al. 2017, Eq. 3 and Algorithm 1): the critic maximises
/// E D(x) − E D(G(z)), an estimate of W₁ up to the Lipschitz constant when D is kept Lipschitz (weight clipping or
/// the gradient penalty); G minimises −E D(G(z)). Batch means; the critic's loss is the negated estimate.
/// </summary>
public static class WassersteinLoss
{
    public static Tensor Critic(Tensor realScores, Tensor fakeScores)
    {
        using var scope = NewDisposeScope();
        return (fakeScores.mean() - realScores.mean()).MoveToOuterDisposeScope();
    }

    public static Tensor Generator(Tensor fakeScores)
    {
        using var scope = NewDisposeScope();
        return (-fakeScores.mean()).MoveToOuterDisposeScope();
    }
}
