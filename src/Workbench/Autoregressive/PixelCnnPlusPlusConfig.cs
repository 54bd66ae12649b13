namespace Workbench.Autoregressive;

/// <summary>
/// Configuration of <see cref="PixelCnnPlusPlus"/> (Salimans et al. 2017, Section 3; defaults as in the released code's
/// CIFAR-10 settings: 5 ResNet layers per block, 160 feature maps, a mixture of 10 logistics, dropout 0.5, 3 resolutions).
/// <see cref="ResnetsPerScale"/> layers per resolution on the way up and one more on the way down, as in the released code. <see cref="Small"/> runs on a
/// CPU; an ablation is one <c>with { … }</c>.
/// </summary>
public sealed record PixelCnnPlusPlusConfig
{
    /// <summary>Image channels (3: RGB, whose channel dependence the mixture models; 1: grey).</summary>
    public int ImageChannels { get; init; } = 3;
    /// <summary>Side of the (square) images; a multiple of 2^(Scales − 1).</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Feature maps of both streams.</summary>
    public int Features { get; init; } = 160;
    /// <summary>Gated ResNet blocks per resolution in the up pass.</summary>
    public int ResnetsPerScale { get; init; } = 5;
    /// <summary>Resolutions (each halves the previous one with a stride-2 causal convolution).</summary>
    public int Scales { get; init; } = 3;
    /// <summary>Logistic mixture components (Section 2.1).</summary>
    public int Mixtures { get; init; } = 10;
    /// <summary>Dropout rate in every gated ResNet block (Section 2.6).</summary>
    public double Dropout { get; init; } = 0.5;

    /// <summary>A CPU preset: 32 features, 1 block per scale, 16×16 RGB, 5 mixtures.</summary>
    public static PixelCnnPlusPlusConfig Small => new() { ImageSize = 16, Features = 32, ResnetsPerScale = 1, Mixtures = 5 };

    public override string ToString() =>
        $"PixelCNN++ {ImageChannels}×{ImageSize}² F={Features} {ResnetsPerScale}×{Scales} scales K={Mixtures} dropout={Dropout}";
}
