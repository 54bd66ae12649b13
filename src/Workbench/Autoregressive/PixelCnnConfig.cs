namespace Workbench.Autoregressive;

/// <summary>
/// Configuration of <see cref="PixelCnn"/> (van den Oord et al. 2016a, Section 3.5 and the paper's architecture table): a
/// 7×7 mask-A convolution, 15 residual blocks of 3×3 mask-B convolutions with 2h feature maps, two 1×1 mask-B layers and a
/// 256-way softmax per channel. The layer counts follow the paper; the widths (2h = 256, 1024 output units) are our
/// CIFAR-scale defaults, to be checked against the paper's. <see cref="Small"/> runs on a CPU. An ablation is one
/// <c>with { … }</c>.
/// </summary>
public sealed record PixelCnnConfig
{
    /// <summary>Image channels (3: RGB with the R → G → B channel masks; 1: grey).</summary>
    public int ImageChannels { get; init; } = 3;
    /// <summary>Side of the (square) images that <see cref="PixelCnn.Sample"/> draws.</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Feature maps 2h between the residual blocks (h = 128).</summary>
    public int Features { get; init; } = 256;
    /// <summary>Residual blocks (one 3×3 mask-B convolution each).</summary>
    public int ResidualBlocks { get; init; } = 15;
    /// <summary>Side of the first, mask-A convolution.</summary>
    public int FirstKernel { get; init; } = 7;
    /// <summary>Side of the mask-B convolution in each residual block.</summary>
    public int Kernel { get; init; } = 3;
    /// <summary>Width of the hidden 1×1 mask-B output layer.</summary>
    public int OutputFeatures { get; init; } = 1024;

    /// <summary>A CPU preset: 32 features, 4 blocks, 16×16 RGB.</summary>
    public static PixelCnnConfig Small => new() { ImageSize = 16, Features = 32, ResidualBlocks = 4, OutputFeatures = 64 };

    public override string ToString() =>
        $"PixelCNN {ImageChannels}×{ImageSize}² 2h={Features} blocks={ResidualBlocks} {FirstKernel}×{FirstKernel}A/{Kernel}×{Kernel}B out={OutputFeatures}";
}
