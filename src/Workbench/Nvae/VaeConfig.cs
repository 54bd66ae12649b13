namespace Workbench.Nvae;

/// <summary>
/// A plain convolutional VAE (Kingma &amp; Welling 2014) built from NVAE's parts: one latent group at the smallest
/// scale with a N(0, I) prior, an encoder of <see cref="EncoderResidualCell"/>s, a decoder of
/// <see cref="GeneratorResidualCell"/>s and the same likelihoods. The baseline the notebook compares NVAE against.
/// </summary>
/// <param name="ImageChannels">1 for grayscale, 3 for RGB.</param>
/// <param name="ImageSize">side of the square input.</param>
/// <param name="StemChannels">width of the stem conv at full resolution.</param>
/// <param name="LatentChannels">channels of the single latent group.</param>
/// <param name="Expansion">generator cells' expansion factor.</param>
/// <param name="Components">mixture components of the logistic likelihood.</param>
/// <param name="Likelihood">output distribution.</param>
/// <param name="ResidualScale">s in output = skip + s·cell.</param>
/// <param name="Widths">encoder widths after each downsampling (the decoder mirrors them); the latent lives at
/// ImageSize / 2^Widths.Length.</param>
/// <param name="CellsPerScale">extra (non-resampling) cells per scale in encoder and decoder.</param>
public sealed record VaeConfig(
    int ImageChannels = 1,
    int ImageSize = 28,
    int StemChannels = 12,
    int[]? Widths = null,
    int LatentChannels = 20,
    int CellsPerScale = 1,
    int Expansion = 3,
    int Components = 10,
    LikelihoodKind Likelihood = LikelihoodKind.DiscretizedLogisticMixture,
    double ResidualScale = 0.1)
{
    public int[] Scales => Widths ?? new[] { 24, 48 };

    /// <summary>
    /// CPU preset for 28×28 grayscale, as wide as <see cref="NvaeConfig.Small"/>: 12 → 24 (14×14) → 48 (7×7), one
    /// latent group of 20×7×7 (the baseline of the 3,000-step comparison in papers/nvae.md). A PyTorch
    /// calibration VAE of papers/nvae.md is wider: <c>Small with { StemChannels = 32, Widths = new[] { 64, 128 }, LatentChannels = 16 }</c>.
    /// </summary>
    public static VaeConfig Small => new();

    /// <summary>Unit-test size: 8×8 grayscale, latent 2×2×2.</summary>
    public static VaeConfig Tiny => new(ImageSize: 8, StemChannels: 4, Widths: new[] { 4, 8 }, LatentChannels: 2, Expansion: 2, Components: 2);
}
