namespace Workbench.VqVae;

/// <summary>How <see cref="VectorQuantizer"/> learns its codebook.</summary>
public enum CodebookUpdate
{
    /// <summary>The codebook loss ‖sg[z_e(x)] − e‖² of Eq. 3 (van den Oord et al. 2017, Section 3.2), by gradient.</summary>
    Loss,
    /// <summary>Exponential moving averages of the assigned encoder outputs and their counts (Appendix A.1), no gradient.</summary>
    Ema,
}

/// <summary>
/// Configuration of <see cref="VqVae"/> and its <see cref="CodePrior"/>s. Defaults are the paper's CIFAR-10 model
/// (van den Oord et al. 2017, Section 4.1 and 4.2): an encoder of two stride-2 4×4 convolutions, a 3×3 convolution and
/// two residual blocks (ReLU, 3×3 conv, ReLU, 1×1 conv), all with 256 hidden units; a decoder that mirrors it with two
/// stride-2 4×4 transposed convolutions; K = 512 codes of dimension D = 64; β = 0.25 (Section 3.2); the EMA codebook
/// update with γ = 0.99 (Appendix A.1). <see cref="Levels"/> = 2 is VQ-VAE-2's hierarchy (Razavi et al. 2019, Section 3.1):
/// a top code map at half the bottom's resolution. The prior is a PixelCNN over the code map (Section 3.3); its widths are
/// our CIFAR-scale defaults (the paper does not give them for CIFAR-10). <see cref="Small"/> and <see cref="TwoLevel"/> run
/// on a CPU. An ablation is one <c>with { … }</c>.
/// </summary>
public sealed record VqVaeConfig
{
    /// <summary>Image channels (3: RGB, 1: grey).</summary>
    public int ImageChannels { get; init; } = 3;
    /// <summary>Side of the (square) images.</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Hidden units of every encoder and decoder convolution.</summary>
    public int Hidden { get; init; } = 256;
    /// <summary>Hidden units inside a residual block (between its 3×3 and 1×1 convolutions).</summary>
    public int ResidualHidden { get; init; } = 256;
    /// <summary>Residual blocks in the encoder and in the decoder.</summary>
    public int ResidualBlocks { get; init; } = 2;
    /// <summary>Stride-2 4×4 convolutions of the (bottom) encoder: the code map is ImageSize / 2^Downsamples on a side.</summary>
    public int Downsamples { get; init; } = 2;
    /// <summary>Code maps: 1 (VQ-VAE) or 2 (VQ-VAE-2: a top map at half the bottom's side).</summary>
    public int Levels { get; init; } = 1;
    /// <summary>Codebook size K (per level).</summary>
    public int Codes { get; init; } = 512;
    /// <summary>Code dimension D.</summary>
    public int CodeDim { get; init; } = 64;
    /// <summary>Commitment cost β (Eq. 3).</summary>
    public double Beta { get; init; } = 0.25;
    /// <summary>Codebook learning: the codebook loss or the EMA update.</summary>
    public CodebookUpdate Update { get; init; } = CodebookUpdate.Ema;
    /// <summary>Decay γ of the EMA update (Appendix A.1); also the decay of the usage counts that dead-code restarts read.</summary>
    public double EmaDecay { get; init; } = 0.99;
    /// <summary>ε of the Laplace smoothing of the EMA counts: Ñ_i = (N_i + ε) / (Σ_k N_k + K ε) · Σ_k N_k.</summary>
    public double EmaEpsilon { get; init; } = 1e-5;
    /// <summary>Replace a code whose EMA usage count falls below <see cref="DeadCodeThreshold"/> by a random encoder output of
    /// the batch (not in the paper; a common fix for codebook collapse).</summary>
    public bool DeadCodeRestart { get; init; } = false;
    /// <summary>EMA usage count below which a code counts as dead (assignments per step, smoothed by γ).</summary>
    public double DeadCodeThreshold { get; init; } = 1.0;

    /// <summary>Embedding width of the codes fed to the prior's first masked convolution.</summary>
    public int PriorEmbedding { get; init; } = 64;
    /// <summary>Feature maps 2h of the prior's PixelCNN.</summary>
    public int PriorFeatures { get; init; } = 256;
    /// <summary>Residual blocks of the prior's PixelCNN.</summary>
    public int PriorResidualBlocks { get; init; } = 15;
    /// <summary>Side of the prior's first, mask-A convolution.</summary>
    public int PriorFirstKernel { get; init; } = 7;
    /// <summary>Width of the prior's hidden 1×1 output layer.</summary>
    public int PriorOutputFeatures { get; init; } = 1024;

    /// <summary>A CPU preset for 28×28 Fashion-MNIST or 32×32 faces: 64 hidden units, 32 residual units, K = 128 codes of
    /// dimension 16 on a 7×7 (8×8) map, EMA codebook; a 64-feature, 4-block prior.</summary>
    public static VqVaeConfig Small => new()
    {
        ImageChannels = 1, ImageSize = 28, Hidden = 64, ResidualHidden = 32, Codes = 128, CodeDim = 16,
        PriorEmbedding = 32, PriorFeatures = 64, PriorResidualBlocks = 4, PriorFirstKernel = 5, PriorOutputFeatures = 128,
    };

    /// <summary>VQ-VAE-2's two levels at CPU size: <see cref="Small"/> with a top code map at half the bottom's side.</summary>
    public static VqVaeConfig TwoLevel => Small with { Levels = 2 };

    /// <summary>The side of a code map after a stride-2, 4×4, padding-1 convolution.</summary>
    public static int Halve(int side) => (side + 2 - 4) / 2 + 1;

    /// <summary>Sides of the code maps, top first (one entry per level).</summary>
    public int[] CodeMapSides()
    {
        int s = ImageSize;
        for (int i = 0; i < Downsamples; i++) s = Halve(s);
        return Levels == 2 ? new[] { Halve(s), s } : new[] { s };
    }

    public override string ToString() =>
        $"VQ-VAE{(Levels == 2 ? "-2" : "")} {ImageChannels}×{ImageSize}² hidden={Hidden}/{ResidualHidden} blocks={ResidualBlocks} " +
        $"maps={string.Join("+", CodeMapSides().Select(s => $"{s}²"))} K={Codes} D={CodeDim} β={Beta} {Update}" +
        (Update == CodebookUpdate.Ema ? $" γ={EmaDecay}" : "") + (DeadCodeRestart ? " restarts" : "");
}
