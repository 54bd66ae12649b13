namespace Workbench.StyleGan2;

/// <summary>
/// The StyleGAN2 generator and discriminator (their training is <see cref="StyleGan2TrainConfig"/>). The defaults are
/// the paper's config F for FFHQ (Karras et al. 2020, Table 1 and Appendix B; 1024², channel base 32768 capped at 512,
/// 8 mapping layers, minibatch standard deviation over groups of 4). <see cref="Small"/> is the 32x32 CPU preset. An
/// ablation is one <c>with { … }</c>, e.g. <c>StyleGan2Config.Small with { Demodulate = false }</c>.
/// </summary>
[Training.FieldsMovedTo(typeof(StyleGan2TrainConfig), "on 2026-12-07")]
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

    /// <summary>
    /// The 32x32 CPU preset (the configuration of papers/stylegan2.md's run): maps 64/64/32/16 at 4/8/16/32,
    /// z and w of 128, 4 mapping layers, non-fused modulated convolutions (faster on CPUs).
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
    }
}
