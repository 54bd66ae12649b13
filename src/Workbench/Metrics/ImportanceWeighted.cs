using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Metrics;

/// <summary>
/// The importance-weighted lower bound (Burda, Grosse &amp; Salakhutdinov 2016):
/// log p(x) ≥ L_K = log (1/K) Σ_k w_k, w_k = p(x, z_k) / q(z_k | x), z_k ~ q(z | x). L_1 is the ELBO; E[L_K] is
/// non-decreasing in K and tends to log p(x).
/// </summary>
public static class ImportanceWeighted
{
    /// <summary>L_K from log-weights [K, B] (nats): logsumexp over K minus log K, shape [B].</summary>
    public static Tensor Bound(Tensor logWeights)
    {
        if (logWeights.dim() != 2) throw new ArgumentException($"log-weights must be [K, B], got {Shapes.Of(logWeights)}", nameof(logWeights));
        return logsumexp(logWeights, 0) - Math.Log(logWeights.shape[0]);
    }
}
