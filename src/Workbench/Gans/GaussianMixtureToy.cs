using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// An equal-weight mixture of isotropic Gaussians with known centres, the 2-D toys of the mode-collapse experiments:
/// <see cref="Ring"/> (8 modes on a circle of radius 2, σ = 0.02: Metz et al. 2017, unrolled GAN, Section 3.1; VEEGAN)
/// and <see cref="Grid"/> (25 modes at {−4, −2, 0, 2, 4}², σ = 0.05: VEEGAN, Srivastava et al. 2017; PacGAN). Samples are
/// float32 [n, 2] on the CPU; <see cref="ModeCoverage"/> scores a generator's samples against <see cref="Centres"/>.
/// </summary>
public sealed class GaussianMixtureToy : Toy2D
{
    readonly float[] centres;   // [K, 2] row-major
    readonly string name;

    public GaussianMixtureToy(string name, IReadOnlyList<(double X, double Y)> centres, double std)
    {
        if (centres.Count == 0) throw new ArgumentException("GaussianMixtureToy: no centres");
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "GaussianMixtureToy: std must be > 0");
        this.name = name;
        this.centres = centres.SelectMany(c => new[] { (float)c.X, (float)c.Y }).ToArray();
        Std = std;
    }

    /// <summary>k modes at angles 2πi/k on a circle (the unrolled-GAN ring: k = 8, radius 2, σ = 0.02).</summary>
    public static GaussianMixtureToy Ring(int k = 8, double radius = 2, double std = 0.02) =>
        new($"ring{k}", Enumerable.Range(0, k).Select(i => (radius * Math.Cos(2 * Math.PI * i / k), radius * Math.Sin(2 * Math.PI * i / k))).ToArray(), std);

    /// <summary>side² modes on a square grid centred at 0 (VEEGAN's grid: side 5, spacing 2, σ = 0.05).</summary>
    public static GaussianMixtureToy Grid(int side = 5, double spacing = 2, double std = 0.05)
    {
        double offset = (side - 1) * spacing / 2;
        return new($"grid{side * side}", Enumerable.Range(0, side * side)
            .Select(i => (i / side * spacing - offset, i % side * spacing - offset)).ToArray(), std);
    }

    /// <summary>ring8 or grid25 (and ringK, gridK² for other sizes).</summary>
    public static GaussianMixtureToy FromName(string name)
    {
        var n = name.ToLowerInvariant();
        if (n.StartsWith("ring", StringComparison.Ordinal) && int.TryParse(n[4..], out int k) && k > 0) return Ring(k);
        if (n.StartsWith("grid", StringComparison.Ordinal) && int.TryParse(n[4..], out int m) && m > 0 && (int)Math.Round(Math.Sqrt(m)) is int s && s * s == m) return Grid(s);
        throw new ArgumentException($"Unknown mixture toy '{name}': ring8, grid25 (ringK, gridK² for other sizes).", nameof(name));
    }

    /// <summary>The same mixture with every length (centres and σ) multiplied by <paramref name="factor"/>: the mode
    /// structure in units of σ is unchanged, the distances a 1-Lipschitz discriminator sees grow by the factor.</summary>
    public GaussianMixtureToy Scaled(double factor)
    {
        if (!(factor > 0)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "GaussianMixtureToy.Scaled: the factor must be > 0");
        var scaled = Enumerable.Range(0, Modes).Select(k => (centres[2 * k] * factor, centres[2 * k + 1] * factor)).ToArray();
        return new($"{name}x{factor.ToString(System.Globalization.CultureInfo.InvariantCulture)}", scaled, Std * factor);
    }

    public override string Name => name;
    public override bool HasExactDensity => true;

    /// <summary>The modes' common standard deviation.</summary>
    public double Std { get; }

    /// <summary>Number of modes.</summary>
    public int Modes => centres.Length / 2;

    /// <summary>The centres, float32 [K, 2].</summary>
    public Tensor Centres() => tensor(centres, new long[] { Modes, 2 });

    public override Tensor Sample(int n, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var k = randint(0, Modes, new long[] { n }, generator: generator);
        return (Centres().index_select(0, k) + randn(new long[] { n, 2 }, generator: generator) * Std).MoveToOuterDisposeScope();
    }

    /// <summary>log p(x) = log Σ_k (1/K) N(x; c_k, σ²I) in float64, returned as float32 [n].</summary>
    public override Tensor LogDensity(Tensor x)
    {
        Nn.Shapes.Expect(x, $"{Name}: points", "n", 2);
        using var scope = NewDisposeScope();
        var d = x.to(ScalarType.Float64).unsqueeze(1) - Centres().to(ScalarType.Float64).unsqueeze(0);
        var logN = -d.pow(2).sum(-1) / (2 * Std * Std) - Math.Log(2 * Math.PI * Std * Std);
        return (logN.logsumexp(1) - Math.Log(Modes)).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
