using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// Finite-impulse-response filters for resampling (StyleGAN2 Appendix B, following Zhang 2019): a 1-D tap list
/// becomes the normalised separable 2-D kernel f[i, j] = a[i]·a[j] / (Σa)², which sums to one.
/// </summary>
public static class FirFilter
{
    /// <summary>The binomial filter [1, 3, 3, 1] StyleGAN2 uses for every up- and downsampling.</summary>
    public static readonly double[] Binomial4 = { 1, 3, 3, 1 };

    /// <summary>The normalised 2-D kernel [k, k] (float32, CPU) for the given 1-D taps.</summary>
    public static Tensor Create(double[] taps)
    {
        if (taps is null || taps.Length == 0) throw new ArgumentException("FirFilter: need at least one tap");
        double sum = taps.Sum();
        if (Math.Abs(sum) < 1e-12) throw new ArgumentException("FirFilter: taps sum to zero, cannot normalise");
        using var a = tensor(taps.Select(t => (float)(t / sum)).ToArray());
        return outer(a, a);
    }
}
