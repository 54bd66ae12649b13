using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// The sample-quality metrics of two feature sets (real, generated), in one call: Fréchet distance
/// (<see cref="FrechetDistance"/>), KID mean and std over subsets (<see cref="Kid"/>; Bińkowski et al. use 100 subsets
/// of 1,000, with fewer samples subsets of half the set so that they differ), precision/recall
/// (<see cref="PrecisionRecall"/>) and density/coverage (<see cref="DensityCoverage"/>). Keys: fd, kid, kid_std,
/// precision, recall, density, coverage. <c>kid_std</c> is the spread of KID across the subsets, not the standard error
/// of <c>kid</c> (which is about that spread divided by √100 when the subsets were independent; they overlap).
/// </summary>
public static class FeatureSpaceComparison
{
    public static Dictionary<string, double> Measure(Tensor real, Tensor fake, long seed = 0)
    {
        int n = (int)Math.Min(real.shape[0], fake.shape[0]);
        int subset = Math.Min(1000, Math.Max(2, n < 2000 ? n / 2 : 1000));
        var (kid, kidStd) = Kid.Compute(real, fake, subsets: 100, subsetSize: subset, seed: seed);
        var (precision, recall) = PrecisionRecall.Compute(real, fake);
        var (density, coverage) = DensityCoverage.Compute(real, fake);
        return new Dictionary<string, double>
        {
            ["fd"] = FrechetDistance.Compute(real, fake), ["kid"] = kid, ["kid_std"] = kidStd,
            ["precision"] = precision, ["recall"] = recall, ["density"] = density, ["coverage"] = coverage,
        };
    }
}
