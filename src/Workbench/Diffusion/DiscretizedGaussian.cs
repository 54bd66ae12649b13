using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDPM's decoder L_0 (Ho et al. 2020, §3.3, Eq. 13): an independent discrete decoder over the 256 values of each
/// 8-bit pixel scaled to [−1, 1], p_θ(x_0 | x_1) = Π_i ∫_{δ−(x_0^i)}^{δ+(x_0^i)} N(x; μ_θ^i(x_1, 1), σ_1²) dx with
/// bin edges x ± 1/255, and the outermost bins extended to ∓∞ — so the variational bound is a lossless codelength on
/// discrete data, with no dequantization.
/// </summary>
public static class DiscretizedGaussian
{
    /// <summary>log p(x_0 | μ, σ²) in nats per element (same shape as <paramref name="x"/>), for data x on the grid
    /// {−1, −1 + 2/255, …, 1}; computed with log-CDF differences, as the authors' code does.</summary>
    public static Tensor LogLikelihood(Tensor x, Tensor mean, Tensor variance)
    {
        using var scope = NewDisposeScope();
        var invStd = variance.rsqrt();
        var centred = x - mean;
        var cdfPlus = Phi(invStd * (centred + 1.0 / 255));
        var cdfMinus = Phi(invStd * (centred - 1.0 / 255));
        var logCdfPlus = log(cdfPlus.clamp_min(1e-12));
        var logOneMinusCdfMin = log((1 - cdfMinus).clamp_min(1e-12));
        var logDelta = log((cdfPlus - cdfMinus).clamp_min(1e-12));
        var result = where(x < -0.999, logCdfPlus, where(x > 0.999, logOneMinusCdfMin, logDelta));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The standard normal CDF Φ(z) = ½(1 + erf(z/√2)), exact. The authors' code (and improved-diffusion) use
    /// the approximation ½(1 + tanh(√(2/π)(z + 0.044715 z³))) instead; the bounds this project reports use the exact
    /// CDF (the two differ by about 2e-4 bits/dim on a good model, more on a rough one).</summary>
    public static Tensor Phi(Tensor z) => 0.5 * (1 + special.erf(z / Math.Sqrt(2)));
}
