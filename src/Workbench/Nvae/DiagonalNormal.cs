using TorchSharp;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Nvae;

/// <summary>
/// A factorised Normal N(μ, σ²) over a latent group [B, C, H, W]. <see cref="FromParams"/> builds it the way NVAE
/// does: μ and log σ are soft-clamped to (−5, 5) by 5·tanh(·/5) for stability, and σ gets a floor of 0.01.
/// Instances own no tensors beyond Mu and Sigma; dispose them with the surrounding dispose scope.
/// </summary>
public sealed class DiagonalNormal
{
    const double HalfLog2Pi = 0.91893853320467274178;

    public Tensor Mu { get; }
    public Tensor Sigma { get; }

    public DiagonalNormal(Tensor mu, Tensor sigma)
    {
        if (!mu.shape.SequenceEqual(sigma.shape))
            throw new ArgumentException($"mu {Shapes.Of(mu)} and sigma {Shapes.Of(sigma)} differ in shape");
        Mu = mu;
        Sigma = sigma;
    }

    /// <summary>5·tanh(x/5): keeps a value in (−5, 5) smoothly (NVAE's soft clamp).</summary>
    public static Tensor SoftClamp(Tensor x) => tanh(x / 5.0) * 5.0;

    /// <summary>N(softclamp(μ), exp(softclamp(log σ)) + 0.01), as the prior of a group is parameterised.</summary>
    public static DiagonalNormal FromParams(Tensor mu, Tensor logSigma, double sigmaFloor = 1e-2) =>
        new(SoftClamp(mu), exp(SoftClamp(logSigma)) + sigmaFloor);

    /// <summary>The standard Normal with the shape of <paramref name="like"/> (the prior of the first group).</summary>
    public static DiagonalNormal Standard(Tensor like) => new(zeros_like(like), ones_like(like));

    /// <summary>Reparameterised sample z = μ + t·σ·ε, ε ~ N(0, I) (Kingma &amp; Welling 2014); t is the temperature.</summary>
    public Tensor Sample(double temperature = 1.0, Generator? generator = null)
    {
        var eps = generator is null ? randn_like(Mu) : randn(Mu.shape, dtype: Mu.dtype, device: Mu.device, generator: generator);
        return Mu + Sigma * eps * temperature;
    }

    /// <summary>z from a given standard-normal noise ε (same shape): μ + σ·ε.</summary>
    public Tensor FromNoise(Tensor eps) => Mu + Sigma * eps;

    /// <summary>Element-wise log density log N(z; μ, σ²).</summary>
    public Tensor LogProb(Tensor z)
    {
        var e = (z - Mu) / Sigma;
        return -0.5 * e * e - log(Sigma) - HalfLog2Pi;
    }

    /// <summary>Element-wise closed-form KL(this ‖ p) between factorised Normals.</summary>
    public Tensor Kl(DiagonalNormal p)
    {
        var r = Sigma / p.Sigma;
        var d = (Mu - p.Mu) / p.Sigma;
        return 0.5 * (d * d + r * r) - log(r) - 0.5;
    }
}
