using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// NVAE's residual Normal posterior (Vahdat &amp; Kautz 2020, Section 3.2): relative to the prior
/// p(z_l | z_&lt;l) = N(μ_p, σ_p²), the encoder predicts only a shift Δμ and a scale Δσ, and
/// q(z_l | x, z_&lt;l) = N(μ_p + Δμ, (σ_p·Δσ)²). The KL then depends on the prior only through σ_p (Eq. 2):
/// KL(q ‖ p) = ½ (Δμ²/σ_p² + Δσ² − log Δσ² − 1), per latent variable.
/// </summary>
public static class ResidualNormal
{
    /// <summary>
    /// The posterior from the prior and the encoder's raw outputs (Δμ, log Δσ); log Δσ is soft-clamped to (−5, 5)
    /// so Δσ stays in a safe range, and the product form σ_q = σ_p·Δσ is exact.
    /// </summary>
    public static DiagonalNormal Posterior(DiagonalNormal prior, Tensor deltaMu, Tensor deltaLogSigma) =>
        new(prior.Mu + deltaMu, prior.Sigma * exp(DiagonalNormal.SoftClamp(deltaLogSigma)));

    /// <summary>Eq. 2, element-wise: ½ (Δμ²/σ_p² + Δσ² − log Δσ² − 1).</summary>
    public static Tensor Kl(Tensor deltaMu, Tensor deltaSigma, Tensor priorSigma)
    {
        var d = deltaMu / priorSigma;
        var s2 = deltaSigma * deltaSigma;
        return 0.5 * (d * d + s2 - log(s2) - 1);
    }
}
