namespace Workbench.Diffusion;

/// <summary>
/// A diffusion model: the forward process and the U-Net noise predictor. Defaults are DDPM's CIFAR-10 model
/// (Ho et al. 2020, §4 and App. B): T = 1000, β linear from 1e-4 to 0.02, σ_t² = β_t, 128 base channels with
/// multipliers (1, 2, 2, 2), two residual blocks per resolution, self-attention at 16×16, dropout 0.1, GroupNorm
/// with 32 groups (35.7M parameters at 32×32). <see cref="Small"/> is the CPU preset for 28×28 Fashion-MNIST; an
/// ablation is one <c>with { … }</c> (e.g. <c>Small with { Schedule = BetaScheduleKind.Cosine }</c>).
/// </summary>
public sealed record DiffusionConfig
{
    /// <summary>Channels of the data (set from the data by the command line).</summary>
    public int ImageChannels { get; init; } = 3;

    /// <summary>Side of the square images.</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>T, the number of diffusion steps.</summary>
    public int Timesteps { get; init; } = 1000;

    /// <summary>Linear (DDPM) or cosine (Nichol &amp; Dhariwal 2021) β schedule.</summary>
    public BetaScheduleKind Schedule { get; init; } = BetaScheduleKind.Linear;

    /// <summary>β_1 of the linear schedule.</summary>
    public double BetaStart { get; init; } = 1e-4;

    /// <summary>β_T of the linear schedule.</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>σ_t² of the reverse process: β_t (Large) or β̃_t (Small).</summary>
    public ReverseVariance Variance { get; init; } = ReverseVariance.Large;

    /// <summary>Base width of the U-Net (also the sinusoid width of the time embedding).</summary>
    public int Channels { get; init; } = 128;

    /// <summary>Width multiplier per resolution, from the input's down (one downsampling between each).</summary>
    public int[]? ChannelMultipliers { get; init; }

    /// <summary>Residual blocks per resolution on the way down (one more on the way up).</summary>
    public int ResBlocks { get; init; } = 2;

    /// <summary>Feature-map sides at which a self-attention block follows each residual block.</summary>
    public int[]? AttentionResolutions { get; init; }

    /// <summary>Dropout rate inside the residual blocks.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>GroupNorm groups (reduced to a divisor of the width where needed).</summary>
    public int NormGroups { get; init; } = 32;

    /// <summary>The multipliers in use (the paper's (1, 2, 2, 2) when not set).</summary>
    public int[] Multipliers => ChannelMultipliers ?? new[] { 1, 2, 2, 2 };

    /// <summary>The attention sides in use (the paper's 16 when not set).</summary>
    public int[] Attention => AttentionResolutions ?? new[] { 16 };

    /// <summary>The forward process this config describes.</summary>
    public ForwardProcess ForwardProcess() => Diffusion.ForwardProcess.Create(Schedule, Timesteps, BetaStart, BetaEnd);

    /// <summary>The reverse process (fixed variance) this config describes.</summary>
    public ReverseProcess ReverseProcess() => new(ForwardProcess(), Variance);

    /// <summary>
    /// CPU preset for 1×28×28 Fashion-MNIST: T = 1000 and the paper's linear schedule kept; a U-Net of 32 base channels,
    /// multipliers (1, 2, 2) over 28 → 14 → 7, one residual block per resolution, attention at 7×7, no dropout, 8 groups.
    /// </summary>
    public static DiffusionConfig Small => new() { ImageChannels = 1, ImageSize = 28, Channels = 32, ChannelMultipliers = new[] { 1, 2, 2 }, ResBlocks = 1,
        AttentionResolutions = new[] { 7 }, Dropout = 0, NormGroups = 8 };
}
