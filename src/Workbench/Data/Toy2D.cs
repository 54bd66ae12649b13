using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>
/// 2-D toy densities for normalizing flows, in the shapes FFJORD (Grathwohl et al. 2019) and later flow papers
/// plot: two moons, 8 Gaussians, checkerboard, two spirals. Every toy samples exactly (<see cref="Sample(int, long)"/>,
/// float32 [n, 2] on the CPU). Where the density has a closed form (<see cref="HasExactDensity"/>: 8 Gaussians,
/// checkerboard) <see cref="LogDensity"/> evaluates it and <see cref="Entropy"/> gives H(p) = −E log p(x) in nats, so
/// a flow's held-out NLL on samples can be read against its floor: NLL − H = KL(p ‖ q) ≥ 0.
/// </summary>
public abstract class Toy2D
{
    /// <summary>The toy's name as <see cref="Create"/> accepts it.</summary>
    public abstract string Name { get; }

    /// <summary>True when <see cref="LogDensity"/> and <see cref="Entropy"/> are available.</summary>
    public abstract bool HasExactDensity { get; }

    /// <summary>n exact samples, float32 [n, 2] on the CPU, drawn with <paramref name="generator"/> (default: libtorch's global generator, see Seeding.Set).</summary>
    public abstract Tensor Sample(int n, Generator? generator = null);

    /// <summary>n exact samples from a fresh generator seeded with <paramref name="seed"/>: the same seed gives the same points.</summary>
    public Tensor Sample(int n, long seed)
    {
        using var g = new Generator(unchecked((ulong)seed));
        return Sample(n, g);
    }

    /// <summary>log p(x) in nats for x [n, 2]; −∞ outside the support. Throws when <see cref="HasExactDensity"/> is false.</summary>
    public virtual Tensor LogDensity(Tensor x) =>
        throw new NotSupportedException($"{Name} has no closed-form density (HasExactDensity is false); compare flows on it by samples, not by NLL.");

    /// <summary>Differential entropy H(p) in nats (exact, or a Monte-Carlo estimate, see <see cref="EntropyStandardError"/>); null without a density.</summary>
    public virtual double? Entropy => null;

    /// <summary>Standard error of <see cref="Entropy"/>: 0 when exact, null without a density.</summary>
    public virtual double? EntropyStandardError => null;

    public override string ToString() => Name;

    /// <summary>The toys' names.</summary>
    public static readonly string[] Names = { "moons", "8gaussians", "checkerboard", "spirals" };

    /// <summary>A toy with its default parameters by name: moons, 8gaussians, checkerboard, spirals.</summary>
    public static Toy2D Create(string name) => name.ToLowerInvariant() switch
    {
        "moons" or "two-moons" or "twomoons" => new TwoMoons(),
        "8gaussians" or "8-gaussians" or "eightgaussians" => new EightGaussians(),
        "checkerboard" => new Checkerboard(),
        "spirals" or "2spirals" or "two-spirals" => new Spirals(),
        _ => throw new ArgumentException($"Unknown 2-D toy '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
    };

    static void CheckPoints(Tensor x, string who)
    {
        Nn.Shapes.Expect(x, $"{who}: points", "n", 2);
    }

    /// <summary>
    /// Two interleaved half circles (sklearn's make_moons), as FFJORD scales them: a moon is picked with probability
    /// 1/2, t ~ U(0, π), the point is (cos t, sin t) or (1 − cos t, 1/2 − sin t), plus N(0, <paramref name="noise"/>²)
    /// noise, then mapped by x ↦ 2x + (−1, −0.2). The mean is (0, 0.3). No closed-form density.
    /// </summary>
    public sealed class TwoMoons(double noise = 0.1) : Toy2D
    {
        public double Noise { get; } = noise;
        public override string Name => "moons";
        public override bool HasExactDensity => false;

        public override Tensor Sample(int n, Generator? generator = null)
        {
            using var scope = NewDisposeScope();
            var t = rand(n, generator: generator) * Math.PI;
            var inner = randint(0, 2, new long[] { n }, generator: generator).to(ScalarType.Float32);
            var x = cos(t) * (1 - 2 * inner) + inner;                // outer: cos t; inner: 1 − cos t
            var y = sin(t) * (1 - 2 * inner) + inner * 0.5;          // outer: sin t; inner: 1/2 − sin t
            var p = stack(new[] { x, y }, 1) + randn(new long[] { n, 2 }, generator: generator) * Noise;
            return (p * 2 + tensor(new float[] { -1f, -0.2f })).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// A mixture of 8 isotropic Gaussians with equal weights, centred at angles kπ/4 on a circle of radius
    /// <paramref name="radius"/>, each with standard deviation <paramref name="std"/>. Defaults are FFJORD's (centres
    /// 4(cos, sin), std 0.5, all divided by 1.414): radius 2.8289, std 0.3536; neighbouring centres are then 6.1 std
    /// apart. The density is exact. The entropy is a Monte-Carlo estimate −mean log p(x) with the exact density over
    /// 10⁶ samples (seed 0): for the defaults a stored constant, H = 2.83188 nats, standard error 0.00098 (a
    /// midpoint-rule quadrature of −∫ p log p on a 0.005 grid over [−6, 6]² gives 2.831880); for other parameters
    /// computed on first use and cached.
    /// </summary>
    public sealed class EightGaussians(double radius = EightGaussians.DefaultRadius, double std = EightGaussians.DefaultStd) : Toy2D
    {
        public const double DefaultRadius = 4 / 1.414, DefaultStd = 0.5 / 1.414;

        // EstimateEntropy(1_000_000, seed: 0) with the default radius and std, run once (see the class summary).
        const double DefaultEntropy = 2.8318788252869846, DefaultEntropyStandardError = 0.0009754744238005417;

        public double Radius { get; } = radius;
        public double Std { get; } = std;
        public override string Name => "8gaussians";
        public override bool HasExactDensity => true;

        /// <summary>The 8 centres, float32 [8, 2].</summary>
        public Tensor Centres() =>
            tensor(Enumerable.Range(0, 8).SelectMany(k => new[] { (float)(Radius * Math.Cos(k * Math.PI / 4)), (float)(Radius * Math.Sin(k * Math.PI / 4)) }).ToArray(),
                new long[] { 8, 2 });

        public override Tensor Sample(int n, Generator? generator = null)
        {
            using var scope = NewDisposeScope();
            var k = randint(0, 8, new long[] { n }, generator: generator);
            var x = Centres().index_select(0, k) + randn(new long[] { n, 2 }, generator: generator) * Std;
            return x.MoveToOuterDisposeScope();
        }

        /// <summary>log p(x) = log Σ_k (1/8) N(x; c_k, σ² I), computed in float64 and returned as float32 [n].</summary>
        public override Tensor LogDensity(Tensor x)
        {
            CheckPoints(x, Name);
            using var scope = NewDisposeScope();
            var d = x.to(ScalarType.Float64).unsqueeze(1) - Centres().to(ScalarType.Float64).unsqueeze(0); // [n, 8, 2]
            var logN = -d.pow(2).sum(-1) / (2 * Std * Std) - Math.Log(2 * Math.PI * Std * Std);
            return (logN.logsumexp(1) - Math.Log(8)).to(ScalarType.Float32).MoveToOuterDisposeScope();
        }

        (double H, double Se)? _entropy;

        (double H, double Se) StoredOrEstimated() =>
            _entropy ??= Radius == DefaultRadius && Std == DefaultStd
                ? (DefaultEntropy, DefaultEntropyStandardError)
                : EstimateEntropy(1_000_000, 0);

        public override double? Entropy => StoredOrEstimated().H;
        public override double? EntropyStandardError => StoredOrEstimated().Se;

        /// <summary>Monte-Carlo H = −mean log p(x) over <paramref name="n"/> exact samples, with its standard error std(log p)/√n.</summary>
        public (double H, double Se) EstimateEntropy(int n, long seed)
        {
            using var scope = NewDisposeScope();
            using var g = new Generator(unchecked((ulong)seed));
            double sum = 0, sumSq = 0;
            for (int done = 0; done < n; done += 250_000)
            {
                int m = Math.Min(250_000, n - done);
                var lp = LogDensity(Sample(m, g)).to(ScalarType.Float64);
                sum += lp.sum().item<double>();
                sumSq += lp.pow(2).sum().item<double>();
            }
            double mean = sum / n, variance = Math.Max(0, sumSq / n - mean * mean);
            return (-mean, Math.Sqrt(variance / n));
        }
    }

    /// <summary>
    /// Uniform on the 8 dark squares of a 4x4 board of side-2 squares covering [−4, 4)²: the square in column i,
    /// row j (0..3, counted from −4) is occupied when i + j is even (FFJORD's checkerboard). Density 1/32 on the
    /// squares (each half-open, [a, a+2)), 0 elsewhere; entropy log 32 exactly.
    /// </summary>
    public sealed class Checkerboard : Toy2D
    {
        public const double Side = 2, Area = 32;
        public override string Name => "checkerboard";
        public override bool HasExactDensity => true;

        public override Tensor Sample(int n, Generator? generator = null)
        {
            using var scope = NewDisposeScope();
            var i = randint(0, 4, new long[] { n }, generator: generator);
            var j = randint(0, 2, new long[] { n }, generator: generator) * 2 + i.remainder(2); // j ≡ i (mod 2)
            var cell = stack(new[] { i, j }, 1).to(ScalarType.Float32);
            var u = rand(new long[] { n, 2 }, generator: generator);
            return ((cell + u) * Side - 4).MoveToOuterDisposeScope();
        }

        public override Tensor LogDensity(Tensor x)
        {
            CheckPoints(x, Name);
            using var scope = NewDisposeScope();
            var cell = floor((x.to(ScalarType.Float64) + 4) / Side);
            var inBoard = (cell >= 0).logical_and(cell < 4).all(1);
            var dark = cell.sum(1).remainder(2).eq(0);
            var inside = inBoard.logical_and(dark);
            var lp = full(new long[] { x.shape[0] }, -Math.Log(Area), dtype: ScalarType.Float32)
                .masked_fill(inside.logical_not(), double.NegativeInfinity);
            return lp.MoveToOuterDisposeScope();
        }

        public override double? Entropy => Math.Log(Area);
        public override double? EntropyStandardError => 0;
    }

    /// <summary>
    /// Two interleaved spiral arms: θ = 3π√u with u ~ U(0, 1) (uniform in arc area, 540° of turn as in FFJORD's
    /// "2spirals"), the point ±(−θ cos θ, θ sin θ)/3 (sign picks the arm), plus N(0, <paramref name="noise"/>²) noise.
    /// E|x|² = π²/2 + 2·noise². No closed-form density.
    /// </summary>
    public sealed class Spirals(double noise = 0.1) : Toy2D
    {
        public double Noise { get; } = noise;
        public override string Name => "spirals";
        public override bool HasExactDensity => false;

        public override Tensor Sample(int n, Generator? generator = null)
        {
            using var scope = NewDisposeScope();
            var theta = sqrt(rand(n, generator: generator)) * (3 * Math.PI);
            var sign = randint(0, 2, new long[] { n }, generator: generator).to(ScalarType.Float32) * 2 - 1;
            var p = stack(new[] { -theta * cos(theta), theta * sin(theta) }, 1) * (sign.unsqueeze(1) / 3);
            return (p + randn(new long[] { n, 2 }, generator: generator) * Noise).MoveToOuterDisposeScope();
        }
    }
}
