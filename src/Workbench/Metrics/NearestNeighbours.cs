using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// The k-nearest-neighbour balls that the manifold estimates of <see cref="PrecisionRecall"/> and
/// <see cref="DensityCoverage"/> are built from: for each point of a set, the Euclidean distance to its k-th nearest
/// other point of the same set (NND_k in Kynkäänniemi et al. 2019 §2 and Naeem et al. 2020 §3), and which of those
/// balls contain a query point. Float64, with distances taken in row chunks so memory stays O(chunk · N).
/// </summary>
public static class NearestNeighbours
{
    const int Chunk = 1024;

    /// <summary>
    /// Euclidean distances [M, N] between rows, computed directly (not through the ‖a‖² + ‖b‖² − 2a·b matrix-product
    /// shortcut libtorch takes for large inputs, whose rounding would put a point's own k-th neighbour just outside
    /// its ball depending on which call computed the distance): the same pair always gets the same distance.
    /// </summary>
    public static Tensor Distances(Tensor a, Tensor b) => cdist(a, b, 2.0, TorchSharp.compute_mode.donot_use_mm_for_euclid_dist);

    /// <summary>Distance from each row of <paramref name="points"/> [N, D] to its k-th nearest other row: [N], float64.</summary>
    public static Tensor KthDistances(Tensor points, int k)
    {
        long n = points.shape[0];
        if (k < 1 || k >= n) throw new ArgumentException($"NearestNeighbours: k = {k} needs 1 ≤ k < N = {n}");
        using var scope = NewDisposeScope();
        var p = points.to(ScalarType.Float64);
        var parts = new List<Tensor>();
        for (long s = 0; s < n; s += Chunk)
        {
            var d = Distances(p[(int)s..(int)Math.Min(n, s + Chunk)], p);
            // The (k+1)-th smallest in a row is the k-th nearest other point: the smallest is the point itself (0).
            parts.Add(d.kthvalue(k + 1, 1).values);
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For queries [M, D] against balls B(centres[i], radii[i]) (closed): the number of balls containing each query,
    /// [M] float64. A query is inside when its distance is at most the radius.
    /// </summary>
    public static Tensor CountContaining(Tensor queries, Tensor centres, Tensor radii)
    {
        long m = queries.shape[0];
        using var scope = NewDisposeScope();
        var (q, c, r) = (queries.to(ScalarType.Float64), centres.to(ScalarType.Float64), radii.to(ScalarType.Float64));
        var parts = new List<Tensor>();
        for (long s = 0; s < m; s += Chunk)
        {
            var d = Distances(q[(int)s..(int)Math.Min(m, s + Chunk)], c);
            parts.Add((d <= r.unsqueeze(0)).to(ScalarType.Float64).sum(new long[] { 1 }));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }
}
