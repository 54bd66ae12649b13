using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// Bits per dimension, the likelihood unit of Glow's tables: bpd = -log p(x) / (D ln 2) for a log-likelihood
/// in nats over D dimensions. For n-bit images modelled by a continuous density on dequantized data
/// x~ = x + u (u uniform over one bin of width 1/n_bins), the discrete log-likelihood is bounded by
/// log p(x) ≥ log p(x~) − D log n_bins (Glow Section 5 / its code; Theis et al. 2016).
/// </summary>
public static class BitsPerDim
{
    /// <summary>bpd = -logp / (D ln 2), for one log-likelihood in nats.</summary>
    public static double FromLogProb(double logProbNats, long dimensions) =>
        -logProbNats / (dimensions * Math.Log(2));

    /// <summary>Element-wise bpd of per-example log-likelihoods [B] in nats.</summary>
    public static Tensor FromLogProb(Tensor logProbNats, long dimensions) =>
        -logProbNats / (dimensions * Math.Log(2));

    /// <summary>The discretization correction -D log(n_bins) in nats for n-bit data (n_bins = 2^bits).</summary>
    public static double DiscreteCorrection(long dimensions, int bits) => -dimensions * bits * Math.Log(2);

    /// <summary>log p(x) of the discrete data from the continuous log-density of the dequantized data whose
    /// bins have width 1/n_bins: log p(x~) − D log n_bins.</summary>
    public static Tensor DiscreteLogProb(Tensor continuousLogDensity, long dimensions, int bits) =>
        continuousLogDensity + DiscreteCorrection(dimensions, bits);

    /// <summary>Log-density of the standard normal, summed over all dimensions after the batch axis: [B].</summary>
    public static Tensor StandardNormalLogDensity(Tensor z) =>
        (-0.5 * (z * z + Math.Log(2 * Math.PI))).flatten(1).sum(1);
}
