using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>WGAN's Lipschitz constraint (Arjovsky et al. 2017, Algorithm 1, line 7): after each critic update every
/// parameter of the critic (batch norm's too, as the authors' code does) is clamped to [−c, c].</summary>
public static class WeightClipping
{
    public static void Apply(nn.Module critic, double c)
    {
        if (!(c > 0)) throw new ArgumentOutOfRangeException(nameof(c), c, "WeightClipping: c must be > 0");
        using var _ = no_grad();
        foreach (var p in critic.parameters()) p.clamp_(-c, c);
    }
}
