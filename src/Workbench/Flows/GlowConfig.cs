namespace Workbench.Flows;

/// <summary>The coupling layer of each flow step (Glow, Section 3.3; Figure 3 compares them).</summary>
public enum Coupling { Additive, Affine }

/// <summary>How the 3x3 convolutions of the coupling networks and split priors pad: <see cref="Edge"/> as Glow's
/// code (zeros plus a border channel with its own weights, <see cref="EdgePadding"/>), <see cref="Zero"/> with zeros,
/// <see cref="Ones"/> as rosinality's glow-pytorch (model.py, ZeroConv2d: <c>F.pad(input, [1, 1, 1, 1], value=1)</c>):
/// the zero-initialised convolutions (<see cref="ZeroConv2d"/>: the last of each coupling network, the split priors)
/// pad with ones, the first convolution of the coupling network with zeros, and the learned top prior is a
/// <see cref="ZeroConv2d"/> applied to a zero input (so its mean and log-std differ from the centre only at the border;
/// see <see cref="LearnedPrior"/>). Models imported from glow-pytorch use it, so they compute its density.</summary>
public enum GlowPadding { Zero, Edge, Ones }

/// <summary>The channel mixing of each flow step (Glow, Section 3.2; Figure 3 compares them).</summary>
public enum Permutation { Reverse, Shuffle, Conv1x1, Conv1x1LU }

/// <summary>
/// Configuration of <see cref="Glow"/> with the paper's defaults (CIFAR-10 setting: L = 3 levels of K = 32 steps,
/// 512 hidden channels, affine coupling, invertible 1x1 convolution, learned top prior, 8-bit data) and its code's
/// edge padding and ActNorm log-scale factor 3.
/// NICE and RealNVP are configurations of the same parts (<see cref="Nice"/>, <see cref="RealNvp"/>); an ablation
/// is one <c>with { … }</c>.
/// </summary>
public sealed record GlowConfig
{
    /// <summary>L: levels of the multi-scale architecture (a squeeze, K steps and, except at the top, a split).</summary>
    public int Levels { get; init; } = 3;
    /// <summary>K: flow steps (ActNorm, permutation, coupling) per level.</summary>
    public int StepsPerLevel { get; init; } = 32;
    /// <summary>Width of the coupling networks.</summary>
    public int HiddenChannels { get; init; } = 512;
    public Coupling Coupling { get; init; } = Coupling.Affine;
    public Permutation Permutation { get; init; } = Permutation.Conv1x1;
    /// <summary>Learned mean and log-std at the top (Glow's learntop) instead of N(0, I).</summary>
    public bool LearnTopPrior { get; init; } = true;
    /// <summary>ActNorm at the start of every step (NICE and RealNVP had none: RealNVP used batch norm).</summary>
    public bool ActNorm { get; init; } = true;
    /// <summary>Bits per colour channel of the data (Glow used 5 for CelebA-HQ, 8 elsewhere).</summary>
    public int NBits { get; init; } = 8;
    /// <summary>Padding of the 3x3 convolutions; Glow's code pads with <see cref="GlowPadding.Edge"/>. Configs written
    /// before the field existed were trained with zeros.</summary>
    [Training.AddedField("\"Zero\"", "on 2026-12-06")]
    public GlowPadding Padding { get; init; } = GlowPadding.Edge;
    /// <summary>ActNorm's log-scale is this factor times its stored parameter (3 in Glow's code: the density is the
    /// same, the optimisation of the scale differs). Configs written before the field existed used 1.</summary>
    [Training.AddedField("1", "on 2026-12-06")]
    public double ActNormLogScaleFactor { get; init; } = 3;
    /// <summary>Seed of the fixed random shuffles (the 1x1 convolutions use libtorch's generator: see Seeding.Set).</summary>
    public int Seed { get; init; } = 0;

    /// <summary>The paper's CIFAR-10 model (≈44M parameters at 32x32x3).</summary>
    public static GlowConfig Paper => new();

    /// <summary>CPU preset: 2 levels of 8 steps, width 64, affine coupling, LU 1x1 conv (≈150k parameters on 28x28x1).</summary>
    public static GlowConfig Small => new()
    {
        Levels = 2, StepsPerLevel = 8, HiddenChannels = 64, Coupling = Coupling.Affine, Permutation = Permutation.Conv1x1LU,
    };

    /// <summary>A wider CPU preset: 2 levels of 12 steps, width 128.</summary>
    public static GlowConfig Medium => Small with { StepsPerLevel = 12, HiddenChannels = 128 };

    /// <summary>NICE (Dinh et al. 2014) as Glow parts at the Small size: additive coupling, channel reversal, N(0, I)
    /// top prior. (NICE's final diagonal scaling is played by ActNorm.)</summary>
    public static GlowConfig Nice => Small with { Coupling = Coupling.Additive, Permutation = Permutation.Reverse, LearnTopPrior = false };

    /// <summary>RealNVP (Dinh et al. 2016) as Glow parts at the Small size: affine coupling, channel reversal,
    /// multi-scale with splits. (RealNVP's batch norm is replaced by ActNorm; its checkerboard masks are not built.)</summary>
    public static GlowConfig RealNvp => Small with { Coupling = Coupling.Affine, Permutation = Permutation.Reverse, LearnTopPrior = false };

    public override string ToString() =>
        $"Glow L={Levels} K={StepsPerLevel} width={HiddenChannels} {Coupling} {Permutation}" +
        (LearnTopPrior ? " learntop" : "") + (ActNorm ? "" : " no-actnorm") + $" {NBits}-bit" +
        (Padding == GlowPadding.Edge ? "" : $" {Padding.ToString().ToLowerInvariant()}-padding") +
        (ActNormLogScaleFactor == 3 ? "" : $" actnorm-factor={ActNormLogScaleFactor}");
}
