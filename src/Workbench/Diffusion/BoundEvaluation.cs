namespace Workbench.Diffusion;

/// <summary>
/// DDPM's held-out bound (<see cref="DiffusionTrainer.EvaluateBound"/>) in bits/dim: the mean over
/// <paramref name="Examples"/> examples and its standard error (the sample standard deviation of the per-example
/// estimates over √n), without and with x̂_0 clipped to [−1, 1]; <paramref name="Evaluations"/> network evaluations per
/// example (T: the exact sum over t); <paramref name="TermsBpd"/> the unclipped mean of each term, index 0 (L_0) … T (L_T).
/// </summary>
public sealed record BoundEvaluation(long Examples, int Evaluations, double Bpd, double BpdStdError, double ClippedBpd,
    double ClippedBpdStdError, double[] TermsBpd)
{
    /// <summary>s / √n of the values (NaN for fewer than two).</summary>
    public static double StdError(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return double.NaN;
        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return Math.Sqrt(variance / values.Count);
    }
}
