using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// KL warm-up and KL balancing (Vahdat &amp; Kautz 2020, Section 3.1 / Appendix A, following the NVAE code's
/// <c>kl_coeff</c>, <c>kl_balancer_coeff</c> and <c>kl_balancer</c>, re-derived here).
/// <para>Warm-up: β(step) = max(min((step − constStep)/anneal, 1), βmin) ramps the KL weight from a small minimum
/// to 1 over a fraction of training.</para>
/// <para>Balancing (only while β &lt; 1): group l gets the coefficient γ_l ∝ (mean_b |KL_l| + 0.01) / α_l, normalised
/// so the γ_l average to 1 (they sum to the number of groups). α_l is the 'square' rule: (2^s)² / n_s for a group at
/// scale s (s = 0 the smallest, so α ∝ spatial area) with n_s groups at that scale, divided by its minimum. A group
/// with little KL thus gets a smaller penalty and is encouraged to carry information, which counters the collapse of
/// whole groups early in training. γ is treated as a constant (no gradient).</para>
/// </summary>
public static class KlBalancer
{
    /// <summary>The warm-up coefficient β at <paramref name="step"/>.</summary>
    public static double WarmupCoefficient(long step, long annealSteps, long constSteps = 0, double minCoefficient = 1e-4)
    {
        if (annealSteps <= 0) return 1.0;
        return Math.Max(Math.Min((step - constSteps) / (double)annealSteps, 1.0), minCoefficient);
    }

    /// <summary>
    /// α per group, ordered top-down (the first group at the smallest scale first) like the model's groups.
    /// <paramref name="groupsPerScale"/> lists the group counts from the smallest scale to the largest; each scale
    /// doubles the side of the previous one.
    /// </summary>
    public static double[] SquareAlpha(IReadOnlyList<int> groupsPerScale)
    {
        var a = new List<double>();
        for (int s = 0; s < groupsPerScale.Count; s++)
            for (int g = 0; g < groupsPerScale[s]; g++)
                a.Add(Math.Pow(Math.Pow(2, s), 2) / groupsPerScale[s]);
        double min = a.Min();
        return a.Select(v => v / min).ToArray();
    }

    /// <summary>
    /// The balancing coefficients γ [L] from per-example KLs [B, L] (no gradient). Mean(γ) = 1.
    /// </summary>
    public static Tensor Coefficients(Tensor klPerGroup, Tensor alpha)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var c = klPerGroup.detach().abs().mean(new long[] { 0 }) + 0.01;
        c = c / alpha.to(c.dtype).to(c.device);
        c = c / c.mean();
        return c.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The KL term of the loss per example [B]: β·Σ_l γ_l·KL_l while β &lt; 1 and <paramref name="balance"/> is on,
    /// β·Σ_l KL_l otherwise. Also returns the γ used (ones when not balancing).
    /// </summary>
    public static (Tensor Kl, Tensor Gamma) Balance(Tensor klPerGroup, double beta, bool balance, Tensor alpha)
    {
        using var scope = NewDisposeScope();
        Tensor gamma = balance && beta < 1.0
            ? Coefficients(klPerGroup, alpha)
            : ones(klPerGroup.shape[1], dtype: klPerGroup.dtype, device: klPerGroup.device);
        var kl = beta * (klPerGroup * gamma.unsqueeze(0)).sum(1);
        return (kl.MoveToOuterDisposeScope(), gamma.MoveToOuterDisposeScope());
    }
}
