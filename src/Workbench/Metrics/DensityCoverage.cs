using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// Density and coverage of Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for Generative Models", §3, the density and coverage definitions),
/// which use only the real set's k-nearest-neighbour balls B(Xᵢ, NND_k(Xᵢ)) (k = 5 in the paper), N real and M fake:
/// <code>density  = 1/(kM) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))]</code>
/// <code>coverage = 1/N Σ_i 1[∃ j: Y_j ∈ B(X_i, NND_k(X_i))]</code>
/// Density counts how many real neighbourhoods each fake sample falls in (expected value 1 when real and fake are
/// independent samples of one distribution; it is not capped at 1). Coverage is the fraction of real neighbourhoods
/// that hold at least one fake sample. NND_k excludes the point itself, so for fake = real (the very same points) each
/// ball holds its centre and its k neighbours and density is (k + 1)/k.
/// A sample exactly on a ball's boundary counts as inside (distance ≤ radius: the closed ball of the definition above);
/// the authors' prdc code uses a strict &lt;. The two differ only on exact ties, which continuous features almost never have.
/// </summary>
public static class DensityCoverage
{
    /// <summary>The paper's neighbourhood size.</summary>
    public const int DefaultK = 5;

    /// <summary>Density and coverage of generated features [M, D] against real features [N, D].</summary>
    public static (double Density, double Coverage) Compute(Tensor real, Tensor generated, int k = DefaultK)
    {
        using var scope = NewDisposeScope();
        var radii = NearestNeighbours.KthDistances(real, k);
        // Balls containing each fake sample (density), and fake samples inside each real ball (coverage).
        double density = NearestNeighbours.CountContaining(generated, real, radii).sum().item<double>() / ((double)k * generated.shape[0]);
        var perBall = BallOccupancy(real, radii, generated);
        double coverage = (perBall > 0).to(ScalarType.Float64).mean().item<double>();
        return (density, coverage);
    }

    static Tensor BallOccupancy(Tensor real, Tensor radii, Tensor generated)
    {
        // Distance from each real centre to its nearest fake sample, compared with the centre's radius.
        using var scope = NewDisposeScope();
        var (r, g) = (real.to(ScalarType.Float64), generated.to(ScalarType.Float64));
        var parts = new List<Tensor>();
        for (long s = 0; s < r.shape[0]; s += 1024)
            parts.Add(NearestNeighbours.Distances(r[(int)s..(int)Math.Min(r.shape[0], s + 1024)], g).amin(new long[] { 1 }));
        var nearestFake = cat(parts, 0);
        return (nearestFake <= radii).to(ScalarType.Float64).MoveToOuterDisposeScope();
    }
}
