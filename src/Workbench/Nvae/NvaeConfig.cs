namespace Workbench.Nvae;

/// <summary>
/// NVAE's architecture (Vahdat &amp; Kautz 2020, Section 3 and Table 6). Defaults are the CIFAR-10 command of
/// NVlabs/NVAE's README: 32×32 RGB, a 128-channel stem (num_channels_enc = num_channels_dec = 128), one
/// preprocessing and one postprocessing block of two cells each (so 16×16 with 256 channels after preprocessing),
/// one latent scale (num_latent_scales = 1) of 30 groups (num_groups_per_scale) of 20 channels
/// (num_latent_per_group) at 16×16, two residual cells per group in the encoder and the decoder
/// (num_cell_per_cond_enc/dec), expansion 6, a 10-component logistic mixture (num_mixture_dec), the residual Normal
/// (res_dist) and num_nf = 1, i.e. one pair of IAF cells per group (<see cref="IafCells"/> = 2).
/// <see cref="Small"/> is the CPU preset for 28×28 Fashion-MNIST.
/// </summary>
public sealed record NvaeConfig
{
    /// <summary>1 for grayscale, 3 for RGB.</summary>
    public int ImageChannels { get; init; } = 3;

    /// <summary>Side of the square input; must be divisible by 2^(PreprocessBlocks + scales − 1).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Width after the stem conv (at full resolution); each downsampling doubles it.</summary>
    public int StemChannels { get; init; } = 128;

    /// <summary>Downsampling blocks before the first latent scale (each halves the side); the
    /// postprocessing path has as many upsampling blocks.</summary>
    public int PreprocessBlocks { get; init; } = 1;

    /// <summary>Encoder cells per preprocessing block (the last one downsamples).</summary>
    public int PreprocessCells { get; init; } = 2;

    /// <summary>Latent groups per scale, from the smallest scale (sampled first) to the largest.</summary>
    public int[]? GroupsPerScale { get; init; }

    /// <summary>Channels of every latent group.</summary>
    public int LatentChannels { get; init; } = 20;

    /// <summary>Bottom-up residual cells per group.</summary>
    public int EncoderCellsPerGroup { get; init; } = 2;

    /// <summary>Top-down residual cells per group (not before the first group).</summary>
    public int DecoderCellsPerGroup { get; init; } = 2;

    /// <summary>Generator cells per postprocessing block (the first one upsamples).</summary>
    public int PostprocessCells { get; init; } = 2;

    /// <summary>Generator cells' 1×1 expansion factor (6 in the paper).</summary>
    public int Expansion { get; init; } = 6;

    /// <summary>Mixture components of the discretized logistic likelihood.</summary>
    public int Components { get; init; } = 10;

    /// <summary>Output distribution.</summary>
    public LikelihoodKind Likelihood { get; init; } = LikelihoodKind.DiscretizedLogisticMixture;

    /// <summary>Section 3.2 on (q = N(μ_p + Δμ, σ_p·Δσ)) or off (the encoder predicts q's
    /// parameters directly).</summary>
    public bool ResidualPosterior { get; init; } = true;

    /// <summary>S in output = skip + s·cell.</summary>
    public double ResidualScale { get; init; } = 0.1;

    /// <summary>Volume-preserving inverse autoregressive flow cells applied to each group's posterior
    /// sample (<see cref="InverseAutoregressiveCell"/>, alternating the autoregressive order; the reference's num_nf
    /// counts pairs, so num_nf = 1 is 2 here; 0 = off).</summary>
    public int IafCells { get; init; } = 2;

    /// <summary>Weight normalisation w = g·v/‖v‖ per output channel on the convs NVAE normalises
    /// (<see cref="WeightNormConv2d"/>; Section 3.1; on in NVAE's code).</summary>
    public bool WeightNorm { get; init; } = true;

    /// <summary>Add Σ_layers max|γ| of the BN scales to the loss, weighted with the spectral
    /// coefficient λ (<see cref="VaeModel.BatchNormScalePenalty"/>; Section 3.1; on in NVAE's code).</summary>
    public bool BatchNormPenalty { get; init; } = true;

    /// <summary>Group counts, smallest scale first (default: one scale of 30 groups, as for CIFAR-10).</summary>
    public int[] Groups => GroupsPerScale ?? new[] { 30 };

    /// <summary>Side of scale <paramref name="s"/> (0 = smallest): ImageSize / 2^(PreprocessBlocks + scales − 1 − s).</summary>
    public int ScaleSide(int s) => ImageSize >> (PreprocessBlocks + Groups.Length - 1 - s);

    /// <summary>Width of scale <paramref name="s"/>: StemChannels · 2^(PreprocessBlocks + scales − 1 − s) (each
    /// downsampling doubles the width, NVAE's CHANNEL_MULT = 2).</summary>
    public long ScaleWidth(int s) => (long)StemChannels << (PreprocessBlocks + Groups.Length - 1 - s);

    /// <summary>Latent shape (C, H, W) of every group, top-down (smallest scale first), without building a model.</summary>
    public (int C, int H, int W)[] LatentGroupShapes() =>
        Groups.SelectMany((g, s) => Enumerable.Repeat((LatentChannels, ScaleSide(s), ScaleSide(s)), g)).ToArray();

    /// <summary>
    /// CPU preset for 28×28 grayscale (Fashion-MNIST): we keep 28×28 (no padding) and use scales 28 → 14 → 7:
    /// a 12-channel stem at 28×28, one preprocessing block down to 14×14 (24 channels), latent scales 7×7 (48
    /// channels, 2 groups) and 14×14 (24 channels, 2 groups) of 20 channels each, one cell per group, expansion
    /// 3 instead of 6 (speed), one postprocessing block back to 28×28, a 10-component logistic mixture, no IAF
    /// cells; weight normalisation and the BN scale penalty on, as in the reference.
    /// </summary>
    public static NvaeConfig Small => new() { ImageChannels = 1, ImageSize = 28, StemChannels = 12, PreprocessBlocks = 1, PreprocessCells = 1,
        GroupsPerScale = new[] { 2, 2 }, LatentChannels = 20, EncoderCellsPerGroup = 1, DecoderCellsPerGroup = 1,
        PostprocessCells = 1, Expansion = 3, Components = 10, IafCells = 0, WeightNorm = true, BatchNormPenalty = true };

    /// <summary>A tiny preset for unit tests (8×8 grayscale, two scales of one group each, no IAF cells,
    /// weight normalisation and the BN scale penalty on).</summary>
    public static NvaeConfig Tiny => new() { ImageChannels = 1, ImageSize = 8, StemChannels = 4, PreprocessBlocks = 1, PreprocessCells = 1,
        GroupsPerScale = new[] { 1, 1 }, LatentChannels = 2, EncoderCellsPerGroup = 1, DecoderCellsPerGroup = 1,
        PostprocessCells = 1, Expansion = 2, Components = 2, IafCells = 0, WeightNorm = true, BatchNormPenalty = true };
}
