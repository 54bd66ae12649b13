using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The hinge adversarial loss (Lim &amp; Ye 2017; SN-GAN, Miyato et al. 2018, Eq. 16; SAGAN, Eq. 5):
/// D minimises E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))), G minimises −E D(G(z)). Batch means.
/// </summary>
public static class HingeLoss
{
    public static Tensor Discriminator(Tensor realScores, Tensor fakeScores)
    {
        using var scope = NewDisposeScope();
        return (nn.functional.relu(1 - realScores).mean() + nn.functional.relu(1 + fakeScores).mean()).MoveToOuterDisposeScope();
    }

    public static Tensor Generator(Tensor fakeScores)
    {
        using var scope = NewDisposeScope();
        return (-fakeScores.mean()).MoveToOuterDisposeScope();
    }
}
