namespace Workbench.StyleGan2;

/// <summary>
/// Everything that defines a StyleGAN2 model and its training. The defaults are the paper's config F for FFHQ
/// (Karras et al. 2020, Table 1 and Appendix B; 1024², channel base 32768 capped at 512, 8 mapping layers,
/// R1 γ = 10 every 16 D steps, path length weight 2 every 4 G steps, mixing 0.9, Adam lr 0.002 β = (0, 0.99),
/// batch 32, G EMA half-life 10 kimg). <see cref="Small"/> is the 32x32 CPU preset. An ablation is one
/// <c>with { … }</c>, e.g. <c>StyleGan2Config.Small with { Demodulate = false }</c>.
/// </summary>
public sealed record StyleGan2Config
{
    /// <summary>Output resolution, a power of two ≥ 8 (32 and 64 on the CPU, up to 1024 as in the paper).</summary>
    public int Resolution { get; init; } = 1024;
    public int ImageChannels { get; init; } = 3;
    public int ZDim { get; init; } = 512;
    public int WDim { get; init; } = 512;
    public int MappingLayers { get; init; } = 8;
    public double MappingLrMul { get; init; } = 0.01;
    /// <summary>Decay of the tracked average w (truncation centre).</summary>
    public double WAvgDecay { get; init; } = 0.995;

    /// <summary>Feature maps at resolution r: min(ChannelBase / r, ChannelMax) × ChannelMultiplier.</summary>
    public int ChannelBase { get; init; } = 32768;
    public int ChannelMax { get; init; } = 512;
    public double ChannelMultiplier { get; init; } = 1.0;

    /// <summary>Weight demodulation (Section 2.2); off for the ablation (modulation only, no normalisation).</summary>
    public bool Demodulate { get; init; } = true;

    /// <summary>
    /// Run modulated convolutions as one grouped convolution (true) or in the equivalent non-fused form
    /// (conv of modulated inputs, then demodulate), which is faster on CPUs; the official code also trains non-fused.
    /// </summary>
    public bool FusedModconv { get; init; } = true;

    public int MbstdGroupSize { get; init; } = 4;
    public int MbstdFeatures { get; init; } = 1;

    public double R1Gamma { get; init; } = 10.0;
    /// <summary>Lazy R1: every this many D steps (Section 3.1); 0 disables R1.</summary>
    public int R1Interval { get; init; } = 16;
    public double PathLengthWeight { get; init; } = 2.0;
    /// <summary>Lazy path length regularisation: every this many G steps; 0 disables it.</summary>
    public int PathLengthInterval { get; init; } = 4;
    public double PathLengthDecay { get; init; } = 0.01;
    /// <summary>false (the official code): the penalty's target is the updated running mean a + decay·(mean(l) − a),
    /// which carries gradient through mean(l); true: the target is a constant.</summary>
    [Training.AddedField("true", "on 2026-12-06")]
    public bool PathLengthDetachMean { get; init; } = false;
    /// <summary>The path-length pass uses batch / this (the official code's pl_batch_shrink).</summary>
    public int PathLengthBatchShrink { get; init; } = 2;
    public double MixingProbability { get; init; } = 0.9;

    public double LearningRate { get; init; } = 0.002;
    public double Beta1 { get; init; } = 0.0;
    public double Beta2 { get; init; } = 0.99;
    public double AdamEpsilon { get; init; } = 1e-8;
    public int BatchSize { get; init; } = 32;

    /// <summary>Half-life of the generator EMA, in thousands of images.</summary>
    public double EmaHalfLifeKimg { get; init; } = 10.0;
    /// <summary>If set, the half-life is at most this fraction of the images seen so far (the official ema_rampup).</summary>
    public double? EmaRampup { get; init; } = null;

    /// <summary>
    /// The 32x32 CPU preset (the configuration of papers/stylegan2.md's run): maps 64/64/32/16 at 4/8/16/32,
    /// z and w of 128, 4 mapping layers, batch 16, γ = 0.1 (the official small-resolution range), EMA half-life
    /// 10 kimg ramped up over the first images, non-fused modulated convolutions (faster on CPUs).
    /// </summary>
    public static StyleGan2Config Small => new()
    {
        Resolution = 32,
        ZDim = 128,
        WDim = 128,
        MappingLayers = 4,
        ChannelBase = 512,
        ChannelMax = 64,
        FusedModconv = false,
        R1Gamma = 0.1,
        BatchSize = 16,
        EmaHalfLifeKimg = 10.0,
        EmaRampup = 0.05,
    };

    /// <summary>log2(Resolution).</summary>
    public int Log2Resolution => (int)Math.Round(Math.Log2(Resolution));

    /// <summary>Number of per-layer w's the synthesis network takes: 2·log2(R) − 2 (18 at 1024², 8 at 32²).</summary>
    public int NumWs => 2 * Log2Resolution - 2;

    /// <summary>Feature maps at resolution <paramref name="res"/>.</summary>
    public int Channels(int res) => Math.Max(1, (int)Math.Round(Math.Min(ChannelBase / res, ChannelMax) * ChannelMultiplier));

    /// <summary>Throws with a message naming the bad field.</summary>
    public void Validate()
    {
        if (Resolution < 8 || (Resolution & (Resolution - 1)) != 0)
            throw new ArgumentException($"StyleGan2Config.Resolution must be a power of two >= 8, got {Resolution}");
        if (ImageChannels < 1) throw new ArgumentException($"StyleGan2Config.ImageChannels must be >= 1, got {ImageChannels}");
        if (ZDim < 1 || WDim < 1) throw new ArgumentException($"StyleGan2Config: ZDim={ZDim}, WDim={WDim} must be >= 1");
        if (MappingLayers < 1) throw new ArgumentException($"StyleGan2Config.MappingLayers must be >= 1, got {MappingLayers}");
        if (BatchSize < 1) throw new ArgumentException($"StyleGan2Config.BatchSize must be >= 1, got {BatchSize}");
        if (R1Interval < 0 || PathLengthInterval < 0)
            throw new ArgumentException($"StyleGan2Config: intervals must be >= 0 (0 disables), got R1Interval={R1Interval}, PathLengthInterval={PathLengthInterval}");
        if (PathLengthBatchShrink < 1) throw new ArgumentException($"StyleGan2Config.PathLengthBatchShrink must be >= 1, got {PathLengthBatchShrink}");
        if (MixingProbability is < 0 or > 1) throw new ArgumentException($"StyleGan2Config.MixingProbability must be in [0, 1], got {MixingProbability}");
    }
}
