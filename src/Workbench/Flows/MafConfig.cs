namespace Workbench.Flows;

/// <summary>
/// Configuration of <see cref="MafImageFlow"/> (Papamakarios et al. 2017, Section 4 and its appendix on images: a stack
/// of MADEs in alternating orders over the flattened image, data dequantized and mapped to logit space with λ = 10⁻⁶ for
/// MNIST-like data). The paper's MADEs have 1024 hidden units; <see cref="Small"/> runs on a CPU. An ablation is one
/// <c>with { … }</c>.
/// </summary>
public sealed record MafConfig
{
    /// <summary>Image channels.</summary>
    public int ImageChannels { get; init; } = 1;
    /// <summary>Side of the (square) images.</summary>
    public int ImageSize { get; init; } = 28;
    /// <summary>MADEs in the stack (the paper's MAF (5) and MAF (10)).</summary>
    public int Mades { get; init; } = 5;
    /// <summary>Units per hidden layer of each MADE.</summary>
    public int Hidden { get; init; } = 1024;
    /// <summary>Hidden layers of each MADE.</summary>
    public int HiddenLayers { get; init; } = 1;
    /// <summary>λ of the logit transform y = logit(λ + (1 − 2λ) x), which keeps pixels at 0 and 1 finite.</summary>
    public double Lambda { get; init; } = 1e-6;

    /// <summary>A CPU preset: five MADEs of 256 hidden units.</summary>
    public static MafConfig Small => new() { Hidden = 256 };

    public override string ToString() => $"MAF {ImageChannels}×{ImageSize}² {Mades} MADEs × {HiddenLayers}×{Hidden} λ={Lambda}";
}
