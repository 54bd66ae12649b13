namespace Workbench.Nvae;

/// <summary>
/// A plain convolutional VAE (Kingma &amp; Welling 2014) built from NVAE's parts: one latent group at the smallest
/// scale with a N(0, I) prior, an encoder of <see cref="EncoderResidualCell"/>s, a decoder of
/// <see cref="GeneratorResidualCell"/>s and the same likelihoods. The baseline the notebook compares NVAE against.
/// </summary>
public sealed record VaeConfig
{
    /// <summary>1 for grayscale, 3 for RGB.</summary>
    public int ImageChannels { get; init; } = 1;

    /// <summary>Side of the square input.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Width of the stem conv at full resolution.</summary>
    public int StemChannels { get; init; } = 12;

    /// <summary>Encoder widths after each downsampling (the decoder mirrors them); the latent lives at
    /// ImageSize / 2^Widths.Length.</summary>
    public int[]? Widths { get; init; }

    /// <summary>Channels of the single latent group.</summary>
    public int LatentChannels { get; init; } = 20;

    /// <summary>Extra (non-resampling) cells per scale in encoder and decoder.</summary>
    public int CellsPerScale { get; init; } = 1;

    /// <summary>Generator cells' expansion factor.</summary>
    public int Expansion { get; init; } = 3;

    /// <summary>Mixture components of the logistic likelihood.</summary>
    public int Components { get; init; } = 10;

    /// <summary>Output distribution.</summary>
    public LikelihoodKind Likelihood { get; init; } = LikelihoodKind.DiscretizedLogisticMixture;

    /// <summary>S in output = skip + s·cell.</summary>
    public double ResidualScale { get; init; } = 0.1;

    public int[] Scales => Widths ?? new[] { 24, 48 };

    /// <summary>
    /// CPU preset for 28×28 grayscale, as wide as <see cref="NvaeConfig.Small"/>: 12 → 24 (14×14) → 48 (7×7), one
    /// latent group of 20×7×7 (the baseline of the 3,000-step comparison in papers/nvae.md). A PyTorch
    /// calibration VAE of papers/nvae.md is wider: <c>Small with { StemChannels = 32, Widths = new[] { 64, 128 }, LatentChannels = 16 }</c>.
    /// </summary>
    public static VaeConfig Small => new();

    /// <summary>Unit-test size: 8×8 grayscale, latent 2×2×2.</summary>
    public static VaeConfig Tiny => new() { ImageSize = 8, StemChannels = 4, Widths = new[] { 4, 8 }, LatentChannels = 2, Expansion = 2, Components = 2 };
}
