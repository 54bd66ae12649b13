using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// What one pass of a VAE through a batch returns (all tensors owned by the caller's dispose scope):
/// <list type="bullet">
/// <item><c>Params</c>: the decoder's likelihood parameters;</item>
/// <item><c>LogPx</c> [B]: log p(x | z) in nats;</item>
/// <item><c>Kl</c>: per latent group, the element-wise closed-form KL(q(z_l|x,z_&lt;l) ‖ p(z_l|z_&lt;l)) [B, C, H, W]
/// (with IAF cells on q, the one-sample estimate log q(z_l) − log p(z_l) at the sampled z_l);</item>
/// <item><c>LogQ</c>, <c>LogP</c> [B]: Σ_l log q(z_l|·) and Σ_l log p(z_l|z_&lt;l) at the sampled z (for the
/// importance-weighted bound, whose single-sample weight is LogPx + LogP − LogQ);</item>
/// <item><c>Z</c>: the sampled latents per group.</item>
/// </list>
/// </summary>
public sealed record VaeOutput(Tensor Params, Tensor LogPx, Tensor[] Kl, Tensor LogQ, Tensor LogP, Tensor[] Z)
{
    /// <summary>KL per group and example, summed over the group's variables: [B, L].</summary>
    public Tensor KlPerGroup() => stack(Kl.Select(k => k.sum(new long[] { 1, 2, 3 })).ToArray(), 1);

    /// <summary>The single-sample ELBO: LogPx − Σ KL, [B] nats.</summary>
    public Tensor Elbo() => LogPx - KlPerGroup().sum(1);

    /// <summary>log w = log p(x, z) − log q(z | x) for the sampled z: [B] nats.</summary>
    public Tensor LogWeight() => LogPx + LogP - LogQ;
}
