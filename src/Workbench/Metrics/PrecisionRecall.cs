using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// Improved precision and recall of Kynkäänniemi et al. 2019 ("Improved Precision and Recall Metric for Assessing
/// Generative Models", §2, the k-NN manifold indicator f and the precision and recall built on it). Each set's manifold is estimated as the union of balls around its points, each ball's
/// radius the distance to the point's k-th nearest neighbour in the same set (k = 3 in the paper):
/// <code>f(φ, Φ) = 1 if ‖φ − φ'‖ ≤ ‖φ' − NN_k(φ')‖ for at least one φ' ∈ Φ, else 0</code>
/// <code>precision(Φ_r, Φ_g) = 1/|Φ_g| Σ_{φ_g} f(φ_g, Φ_r)      recall(Φ_r, Φ_g) = 1/|Φ_r| Σ_{φ_r} f(φ_r, Φ_g)</code>
/// Precision: the fraction of generated samples inside the real manifold (fidelity). Recall: the fraction of real
/// samples inside the generated manifold (variety).
/// </summary>
public static class PrecisionRecall
{
    /// <summary>The paper's neighbourhood size.</summary>
    public const int DefaultK = 3;

    /// <summary>Precision and recall of generated features [M, D] against real features [N, D].</summary>
    public static (double Precision, double Recall) Compute(Tensor real, Tensor generated, int k = DefaultK)
    {
        using var scope = NewDisposeScope();
        var realRadii = NearestNeighbours.KthDistances(real, k);
        var genRadii = NearestNeighbours.KthDistances(generated, k);
        double precision = (NearestNeighbours.CountContaining(generated, real, realRadii) > 0).to(ScalarType.Float64).mean().item<double>();
        double recall = (NearestNeighbours.CountContaining(real, generated, genRadii) > 0).to(ScalarType.Float64).mean().item<double>();
        return (precision, recall);
    }
}
