namespace Workbench.Gans;

/// <summary>The networks of a <see cref="GanConfig"/>: MLPs for 2-D toys or DCGAN's convolutional pair for images.</summary>
public enum GanArchitecture { Mlp, Dcgan }

/// <summary>
/// The adversarial objective. <c>Minimax</c>: Goodfellow et al. 2014, Eq. 1, G minimising log(1 − D(G(z)));
/// <c>NonSaturating</c>: the same D loss, G maximising log D(G(z)) (Section 3); <c>Wasserstein</c>: the critic's
/// E D(x) − E D(G(z)) (Arjovsky et al. 2017, Eq. 3) with weight clipping or a gradient penalty for the Lipschitz
/// constraint; <c>Hinge</c>: the hinge version (Lim &amp; Ye 2017; SN-GAN, SAGAN).
/// </summary>
public enum GanLoss { Minimax, NonSaturating, Wasserstein, Hinge }

/// <summary>
/// The generator and discriminator of the GAN lineage before StyleGAN2, as one record: the architecture, the loss,
/// spectral normalisation of D (Miyato et al. 2018), a SAGAN self-attention block (Zhang et al. 2019) at one
/// resolution, and class conditioning (Mirza &amp; Osindero 2014; the projection discriminator of Miyato &amp; Koyama
/// 2018 as an option). The defaults are DCGAN's (Radford et al. 2016, Section 3 and Fig. 1): 64x64 RGB, z of 100
/// dimensions, 1024 maps at 4x4 halving at each upsampling, batch norm in G and D (not D's first layer), ReLU in G,
/// LeakyReLU 0.2 in D, tanh output, weights from N(0, 0.02). <see cref="Small"/> is the 32x32 one-channel CPU preset,
/// <see cref="Toy"/> the MLP pair of the 2-D experiments (WGAN-GP's toy networks, narrower).
/// </summary>
public sealed record GanConfig
{
    public GanArchitecture Architecture { get; init; } = GanArchitecture.Dcgan;
    public GanLoss Loss { get; init; } = GanLoss.NonSaturating;

    /// <summary>Latent dimensions (DCGAN: 100).</summary>
    public int ZDim { get; init; } = 100;

    /// <summary>Image side, a power of two ≥ 8 (DCGAN only).</summary>
    public int Resolution { get; init; } = 64;
    public int ImageChannels { get; init; } = 3;
    /// <summary>DCGAN's base width: G has Width·2^(k−1) maps at 4x4 for k upsamplings, halving each time (128 at 64x64 gives
    /// the paper's 1024); D mirrors it.</summary>
    public int Width { get; init; } = 128;
    /// <summary>Batch norm in G (DCGAN guideline; every layer but the output).</summary>
    public bool GeneratorBatchNorm { get; init; } = true;
    /// <summary>Batch norm in D (every layer but the input one). WGAN-GP's critic has none (its penalty is per example),
    /// nor has an SN-GAN discriminator.</summary>
    public bool DiscriminatorBatchNorm { get; init; } = true;

    /// <summary>Data dimensions of the MLP pair (2 for the toys).</summary>
    public int DataDim { get; init; } = 2;
    /// <summary>Hidden units per MLP layer.</summary>
    public int Hidden { get; init; } = 512;
    /// <summary>Hidden layers of each MLP (WGAN-GP's toy: 3).</summary>
    public int HiddenLayers { get; init; } = 3;

    /// <summary>Spectral normalisation of every weight of D (one power iteration per training forward pass).</summary>
    public bool SpectralNorm { get; init; }

    /// <summary>The feature-map side at which G and D get a SAGAN self-attention block (0: none). DCGAN only.</summary>
    public int Attention { get; init; }

    /// <summary>Classes of the conditional GAN (0: unconditional). G concatenates a learnt class embedding to z.</summary>
    public int Classes { get; init; }
    /// <summary>With classes: the projection discriminator D(x, y) = ψ(φ(x)) + ⟨e_y, φ(x)⟩ (Miyato &amp; Koyama 2018, Eq. 3);
    /// false: the label enters D as a one-hot input (Mirza &amp; Osindero 2014), as extra channels for images.</summary>
    public bool Projection { get; init; }
    /// <summary>Dimensions of G's class embedding (0: ZDim).</summary>
    public int EmbeddingDim { get; init; }

    /// <summary>The 32x32 one-channel CPU preset (Fashion-MNIST padded to 32): z of 64, width 32 (128 maps at 4x4).</summary>
    public static GanConfig Small => new() { Resolution = 32, ImageChannels = 1, ZDim = 64, Width = 32 };

    /// <summary>The 2-D toy MLPs: z of 2 and 3 hidden ReLU layers as in WGAN-GP's toy code, 128 units (the paper's 512
    /// are in <c>Toy with { Hidden = 512 }</c>).</summary>
    public static GanConfig Toy => new() { Architecture = GanArchitecture.Mlp, ZDim = 2, Hidden = 128, HiddenLayers = 3 };

    /// <summary>G's class-embedding width.</summary>
    public int ClassEmbeddingDim => EmbeddingDim > 0 ? EmbeddingDim : ZDim;

    /// <summary>log2(Resolution).</summary>
    public int Log2Resolution => (int)Math.Round(Math.Log2(Resolution));

    /// <summary>Throws with a message naming the bad field.</summary>
    public void Validate()
    {
        if (ZDim < 1) throw new ArgumentException($"GanConfig.ZDim must be >= 1, got {ZDim}");
        if (Classes < 0) throw new ArgumentException($"GanConfig.Classes must be >= 0, got {Classes}");
        if (Projection && Classes == 0) throw new ArgumentException("GanConfig.Projection needs Classes > 0");
        if (Architecture == GanArchitecture.Mlp)
        {
            if (DataDim < 1 || Hidden < 1 || HiddenLayers < 1)
                throw new ArgumentException($"GanConfig: the MLP needs DataDim, Hidden, HiddenLayers >= 1, got {DataDim}, {Hidden}, {HiddenLayers}");
            if (Attention != 0) throw new ArgumentException($"GanConfig.Attention is for the DCGAN architecture (feature maps), got {Attention} with Mlp");
            return;
        }
        if (Resolution < 8 || (Resolution & (Resolution - 1)) != 0)
            throw new ArgumentException($"GanConfig.Resolution must be a power of two >= 8, got {Resolution}");
        if (ImageChannels < 1 || Width < 1) throw new ArgumentException($"GanConfig: ImageChannels and Width must be >= 1, got {ImageChannels}, {Width}");
        if (Attention != 0 && (Attention < 4 || Attention > Resolution / 2 || (Attention & (Attention - 1)) != 0))
            throw new ArgumentException($"GanConfig.Attention must be 0 or a feature-map side between 4 and {Resolution / 2} (a power of two), got {Attention}");
    }
}
