namespace Workbench.Autoregressive;

/// <summary>
/// Configuration of <see cref="GatedPixelCnn"/> (van den Oord et al. 2016b): gated layers with a vertical and a horizontal
/// stack, optional class conditioning. The defaults (15 layers, 128 feature maps, 5-wide kernels) are a CIFAR-scale
/// starting point, not the paper's exact setting. <see cref="Small"/> runs on a CPU; an ablation is one <c>with { … }</c>.
/// </summary>
public sealed record GatedPixelCnnConfig
{
    /// <summary>Image channels (3: RGB with the R → G → B channel masks; 1: grey).</summary>
    public int ImageChannels { get; init; } = 3;
    /// <summary>Side of the (square) images that <see cref="GatedPixelCnn.Sample"/> draws.</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Feature maps p of each stack.</summary>
    public int Features { get; init; } = 128;
    /// <summary>Gated layers (the first one is mask A).</summary>
    public int Layers { get; init; } = 15;
    /// <summary>Odd kernel side n: the vertical stack uses n×n taps (rows above), the horizontal stack 1×n.</summary>
    public int Kernel { get; init; } = 5;
    /// <summary>Width of the hidden 1×1 mask-B output layer.</summary>
    public int OutputFeatures { get; init; } = 1024;
    /// <summary>Number of classes for class conditioning h (a one-hot, Eq. 4); 0 for an unconditional model.</summary>
    public int Classes { get; init; } = 0;

    /// <summary>A CPU preset: 32 features, 4 layers of 5-wide kernels, 16×16 RGB.</summary>
    public static GatedPixelCnnConfig Small => new() { ImageSize = 16, Features = 32, Layers = 4, OutputFeatures = 64 };

    public override string ToString() =>
        $"Gated PixelCNN {ImageChannels}×{ImageSize}² p={Features} layers={Layers} n={Kernel} out={OutputFeatures}" + (Classes > 0 ? $" classes={Classes}" : "");
}
