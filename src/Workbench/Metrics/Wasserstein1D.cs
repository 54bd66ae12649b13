using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// The 1-Wasserstein (earth mover's) distance between two one-dimensional empirical distributions, which in 1-D has
/// the closed form W₁(P, Q) = ∫ |F_P(t) − F_Q(t)| dt (Vallender 1974; Villani 2009, "Optimal Transport", Remark 2.19;
/// the same definition as scipy.stats.wasserstein_distance). Computed exactly from the two step CDFs over the merged
/// sorted values. Used per factor on procedural faces: the factors <see cref="FactorRegressor"/> reads from generated
/// faces against those it reads from real faces, so a model that draws too little variety in one factor (partial mode
/// collapse) shows a large distance in that factor.
/// </summary>
public static class Wasserstein1D
{
    /// <summary>W₁ between the empirical distributions of <paramref name="a"/> and <paramref name="b"/> (equal weights).</summary>
    public static double Distance(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count == 0 || b.Count == 0) throw new ArgumentException("Wasserstein1D: both samples need at least one value");
        var sa = a.Order().ToArray();
        var sb = b.Order().ToArray();
        var all = sa.Concat(sb).Order().ToArray();
        double total = 0;
        int ia = 0, ib = 0;
        for (int t = 0; t < all.Length - 1; t++)
        {
            // F(x) for x in [all[t], all[t+1]): the fraction of each sample at or below all[t].
            while (ia < sa.Length && sa[ia] <= all[t]) ia++;
            while (ib < sb.Length && sb[ib] <= all[t]) ib++;
            total += Math.Abs((double)ia / sa.Length - (double)ib / sb.Length) * (all[t + 1] - all[t]);
        }
        return total;
    }

    /// <summary>W₁ per column between [N, F] and [M, F] (e.g. the 11 face factors of generated and real faces).</summary>
    public static double[] PerColumn(Tensor a, Tensor b)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException("Wasserstein1D.PerColumn: need [N, F] and [M, F]");
        using var scope = NewDisposeScope();
        var (da, db) = (a.to(ScalarType.Float64).cpu(), b.to(ScalarType.Float64).cpu());
        var result = new double[a.shape[1]];
        for (int f = 0; f < result.Length; f++)
            result[f] = Distance(da.select(1, f).data<double>().ToArray(), db.select(1, f).data<double>().ToArray());
        return result;
    }
}
