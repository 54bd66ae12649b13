using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// KID, the Kernel Inception Distance of Bińkowski et al. 2018 ("Demystifying MMD GANs", the Kernel Inception
/// Distance they define as the squared MMD under this kernel), computed here on whatever features it is given (ResNet-18 or the Fashion-MNIST classifier's, so it is
/// reported as "KID on ResNet-18 features"): the squared maximum mean discrepancy between the two feature sets with
/// the cubic polynomial kernel
/// <code>k(x, y) = (xᵀy / d + 1)³</code>
/// estimated without bias (Gretton et al. 2012, "A Kernel Two-Sample Test", Lemma 6, the U-statistic MMD²_u):
/// <code>MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(n(n−1)) Σ_{i≠j} k(yᵢ, yⱼ) − 2/(mn) Σ_{i,j} k(xᵢ, yⱼ)</code>
/// Its expectation is exactly 0 when the two sets come from one distribution, whatever the sample size, which is why
/// it (not the biased V-statistic, which adds the diagonal terms) suits CPU-sized samples. As in the paper's code, the
/// estimate is averaged over random subsets of both sets (without replacement within a subset) and reported as
/// mean ± standard deviation over the subsets. All arithmetic is float64.
/// </summary>
public static class Kid
{
    /// <summary>The cubic polynomial kernel matrix k(xᵢ, yⱼ) = (xᵢ·yⱼ/d + 1)³ for x [m, d], y [n, d], float64.</summary>
    public static Tensor PolynomialKernel(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var (a, b) = (x.to(ScalarType.Float64), y.to(ScalarType.Float64));
        return (a.matmul(b.t()) / a.shape[1] + 1).pow(3).MoveToOuterDisposeScope();
    }

    /// <summary>The unbiased estimate MMD²_u with the cubic polynomial kernel (needs m, n ≥ 2).</summary>
    public static double Mmd2Unbiased(Tensor x, Tensor y)
    {
        long m = x.shape[0], n = y.shape[0];
        if (m < 2 || n < 2) throw new ArgumentException("Kid: need at least two samples in each set");
        using var scope = NewDisposeScope();
        var kxx = PolynomialKernel(x, x);
        var kyy = PolynomialKernel(y, y);
        var kxy = PolynomialKernel(x, y);
        double sxx = (kxx.sum() - kxx.diagonal().sum()).item<double>() / (m * (m - 1.0));
        double syy = (kyy.sum() - kyy.diagonal().sum()).item<double>() / (n * (n - 1.0));
        double sxy = kxy.sum().item<double>() / ((double)m * n);
        return sxx + syy - 2 * sxy;
    }

    /// <summary>
    /// The biased estimate MMD²_b (Gretton et al. 2012, the V-statistic MMD²_b: the diagonal terms kept, divided by m², n²). Not a metric
    /// to report: it is here so a test can show that the unbiased estimator's test tells the two apart.
    /// </summary>
    public static double Mmd2Biased(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        return PolynomialKernel(x, x).mean().item<double>() + PolynomialKernel(y, y).mean().item<double>()
            - 2 * PolynomialKernel(x, y).mean().item<double>();
    }

    /// <summary>
    /// KID as mean and standard deviation of <see cref="Mmd2Unbiased"/> over <paramref name="subsets"/> random subsets of
    /// <paramref name="subsetSize"/> rows of each set (capped at the smaller set's size), drawn with a generator seeded by
    /// <paramref name="seed"/> (the paper's code: 100 subsets of 1000).
    /// </summary>
    public static (double Mean, double Std) Compute(Tensor x, Tensor y, int subsets = 100, int subsetSize = 1000, long seed = 0)
    {
        int size = (int)Math.Min(subsetSize, Math.Min(x.shape[0], y.shape[0]));
        if (subsets < 1) throw new ArgumentException("Kid: need at least one subset");
        var rng = new Random((int)seed);
        var values = new double[subsets];
        for (int s = 0; s < subsets; s++)
        {
            using var scope = NewDisposeScope();
            var ix = tensor(Subset(rng, (int)x.shape[0], size));
            var iy = tensor(Subset(rng, (int)y.shape[0], size));
            values[s] = Mmd2Unbiased(x.index_select(0, ix), y.index_select(0, iy));
        }
        double mean = values.Average();
        double std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Sum() / values.Length);
        return (mean, std);
    }

    static long[] Subset(Random rng, int n, int size)
    {
        var all = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(all);
        return all.Take(size).Select(i => (long)i).ToArray();
    }
}
