using TorchSharp;
using TorchSharp.Modules;
using Workbench.Diffusion;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// VQ-VAE (van den Oord et al. 2017): x → <see cref="Encoder"/> → 1×1 conv to D → <see cref="VectorQuantizer"/> →
/// <see cref="Decoder"/>, trained on Eq. 3: L = ‖x − μ(z_q(x))‖² + ‖sg[z_e(x)] − e‖² + β ‖z_e(x) − sg[e]‖² (the codebook
/// term replaced by the EMA update of Appendix A.1 when configured). With <see cref="VqVaeConfig.Levels"/> = 2 it is
/// VQ-VAE-2 (Razavi et al. 2019, Section 3.1, Figure 2a): a top encoder halves the bottom features once more and is
/// quantised first; its codes are decoded to the bottom resolution and concatenated with the bottom features before the
/// bottom quantisation; the decoder reads the bottom codes and the top codes upsampled by a stride-2 transposed conv.
/// <para>Likelihood: the decoder is read as a discretized Gaussian over the 256 values of each sub-pixel
/// (<see cref="DiscretizedGaussian"/>, bins of width 2/255 on [−1, 1], outer bins open) with mean μ and a learned
/// per-channel log σ (<see cref="DecoderLogScale"/>). Since p(x) = Σ_z p(z) p(x | z) ≥ p(z_q(x)) p(x | z_q(x)), the
/// codelength −log₂ p(x | z_q(x)) − log₂ p(z_q(x)) bounds −log₂ p(x) from above for any prior p(z): with the uniform
/// prior of training it is N·log₂ K bits for N codes (Section 3.1), with a trained <see cref="CodePrior"/> the prior's
/// bits. Divided by C·H·W it is the bits/dim bound (<see cref="VqVaeBound"/>).</para>
/// </summary>
public sealed class VqVae : nn.Module<Tensor, VqVaeOutput>
{
    readonly Encoder encoder;
    readonly Conv2d preQuantize;
    readonly VectorQuantizer quantizer;
    readonly Decoder decoder;
    readonly Parameter decoder_log_scale;   // log σ per image channel
    // VQ-VAE-2's top level (null for one level)
    readonly Encoder? topEncoder;
    readonly Conv2d? topPreQuantize;
    readonly VectorQuantizer? topQuantizer;
    readonly Decoder? topDecoder;
    readonly ConvTranspose2d? topUpsample;

    public VqVae(VqVaeConfig config) : base(nameof(VqVae))
    {
        if (config.Levels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(config), config.Levels, "VqVaeConfig.Levels must be 1 or 2");
        Config = config;
        var sides = config.CodeMapSides();
        if (sides.Any(s => s < 1)) throw new ArgumentException($"VqVaeConfig: {config.ImageSize}² images are too small for {config.Downsamples} halvings and {config.Levels} level(s)", nameof(config));
        int h = config.Hidden, rh = config.ResidualHidden, d = config.CodeDim;
        VectorQuantizer Quantizer() => new(config.Codes, d, config.Update, config.EmaDecay, config.EmaEpsilon, config.DeadCodeRestart, config.DeadCodeThreshold);
        encoder = new Encoder(config.ImageChannels, h, rh, config.ResidualBlocks, config.Downsamples);
        if (config.Levels == 2)
        {
            int bottom = sides[1];
            int[] pad = Decoder.OutputPaddings(bottom, 1);
            topEncoder = new Encoder(h, h, rh, config.ResidualBlocks, 1);
            topPreQuantize = nn.Conv2d(h, d, 1);
            topQuantizer = Quantizer();
            topDecoder = new Decoder(d, h, rh, config.ResidualBlocks, pad, d);
            topUpsample = nn.ConvTranspose2d(d, d, 4, stride: 2, padding: 1, output_padding: pad[0]);
        }
        preQuantize = nn.Conv2d(config.Levels == 2 ? h + d : h, d, 1);
        quantizer = Quantizer();
        decoder = new Decoder(config.Levels == 2 ? 2 * d : d, h, rh, config.ResidualBlocks,
            Decoder.OutputPaddings(config.ImageSize, config.Downsamples), config.ImageChannels);
        decoder_log_scale = new Parameter(zeros(config.ImageChannels));
        RegisterComponents();
    }

    public VqVaeConfig Config { get; }

    /// <summary>The quantizers, top first (one per level).</summary>
    public IReadOnlyList<VectorQuantizer> Quantizers => topQuantizer is null ? new[] { quantizer } : new[] { topQuantizer, quantizer };

    /// <summary>The decoder likelihood's log σ per channel (on the [−1, 1] scale).</summary>
    public Parameter DecoderLogScale => decoder_log_scale;

    /// <summary>Elements C·H·W of one image.</summary>
    public long Dimensions => (long)Config.ImageChannels * Config.ImageSize * Config.ImageSize;

    /// <summary>Code positions N = Σ_l H_l·W_l of one image.</summary>
    public long CodePositions => Config.CodeMapSides().Sum(s => (long)s * s);

    /// <summary>Encodes, quantises and decodes images x [B, C, H, W] scaled to [−1, 1]; in training mode the quantizers
    /// update their counts (and the EMA codebooks).</summary>
    public override VqVaeOutput forward(Tensor x)
    {
        Shapes.Expect(x, "VqVae: images", "B", Config.ImageChannels, Config.ImageSize, Config.ImageSize);
        var hb = encoder.call(x);
        var levels = new List<QuantizerOutput>();
        Tensor decoderInput;
        if (topQuantizer is not null)
        {
            var top = topQuantizer.call(topPreQuantize!.call(topEncoder!.call(hb)));
            levels.Add(top);
            var bottom = quantizer.call(preQuantize.call(cat(new[] { hb, topDecoder!.call(top.Quantized) }, 1)));
            levels.Add(bottom);
            decoderInput = cat(new[] { bottom.Quantized, topUpsample!.call(top.Quantized) }, 1);
        }
        else
        {
            var q = quantizer.call(preQuantize.call(hb));
            levels.Add(q);
            decoderInput = q.Quantized;
        }
        var mu = decoder.call(decoderInput);
        var recon = nn.functional.mse_loss(mu, x);
        var nll = DecoderNll(x, mu.detach());
        Tensor loss = recon + nll.mean() / Dimensions;
        foreach (var l in levels)
        {
            if (Config.Update == CodebookUpdate.Loss) loss = loss + l.CodebookLoss;
            loss = loss + Config.Beta * l.CommitmentLoss;
        }
        return new VqVaeOutput(mu, levels, recon, nll, loss);
    }

    /// <summary>−log p(x | μ) per image [B] in nats: the discretized Gaussian with this model's per-channel σ.</summary>
    public Tensor DecoderNll(Tensor x, Tensor mean)
    {
        var variance = (2 * decoder_log_scale).exp().reshape(1, -1, 1, 1);
        return -DiscretizedGaussian.LogLikelihood(x, mean, variance).sum(new long[] { 1, 2, 3 });
    }

    /// <summary>The code maps [B, H_l, W_l] of images x in [−1, 1], top first (no gradient, in the mode the model is in).</summary>
    public Tensor[] Encode(Tensor x)
    {
        using var _ = no_grad();
        bool wasTraining = training;
        eval();   // encoding never updates the codebooks
        try { return forward(x).Codes; }
        finally { train(wasTraining); }
    }

    /// <summary>The decoder's mean [B, C, H, W] on [−1, 1] for code maps [B, H_l, W_l], top first.</summary>
    public Tensor Decode(IReadOnlyList<Tensor> codes)
    {
        if (codes.Count != Config.Levels) throw new ArgumentException($"VqVae.Decode: {Config.Levels} code map(s) expected, got {codes.Count}", nameof(codes));
        var sides = Config.CodeMapSides();
        for (int l = 0; l < codes.Count; l++) Shapes.Expect(codes[l], $"VqVae.Decode: code map {l}", "B", sides[l], sides[l]);
        using var scope = NewDisposeScope();
        Tensor input;
        if (topQuantizer is not null)
            input = cat(new[] { quantizer.Lookup(codes[1]), topUpsample!.call(topQuantizer.Lookup(codes[0])) }, 1);
        else
            input = quantizer.Lookup(codes[0]);
        return decoder.call(input).MoveToOuterDisposeScope();
    }

    /// <summary>What the prior of level <paramref name="level"/> is conditioned on: nothing for the top level, and for
    /// VQ-VAE-2's bottom level the top codes' vectors upsampled (nearest) to the bottom map, [B, D, H_1, W_1].</summary>
    public Tensor? PriorCondition(int level, IReadOnlyList<Tensor> codesAbove)
    {
        if (level == 0) return null;
        if (topQuantizer is null || level != 1) throw new ArgumentOutOfRangeException(nameof(level), level, $"the model has {Config.Levels} level(s)");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        int side = Config.CodeMapSides()[1];
        var top = topQuantizer.Lookup(codesAbove[0]);
        return nn.functional.interpolate(top, new long[] { side, side }, mode: InterpolationMode.Nearest).MoveToOuterDisposeScope();
    }

    /// <summary>Prior settings for level <paramref name="level"/> (top first): K-way over the level's map, conditioned on the top
    /// level's code vectors for VQ-VAE-2's bottom level.</summary>
    public CodePrior NewPrior(int level) => new(Config.Codes, Config.PriorEmbedding, Config.PriorFeatures, Config.PriorResidualBlocks,
        Config.PriorFirstKernel, Config.PriorOutputFeatures, level == 0 ? 0 : Config.CodeDim);

    /// <summary>
    /// Ancestral sampling through the priors (Section 3.3; VQ-VAE-2, Section 3.2): code maps drawn level by level, top first,
    /// each conditioned on the levels above, then decoded. Returns the decoder's mean [n, C, H, W] on [−1, 1] and the codes.
    /// </summary>
    public (Tensor Images, Tensor[] Codes) Generate(IReadOnlyList<CodePrior> priors, int n, double temperature = 1.0)
    {
        if (priors.Count != Config.Levels) throw new ArgumentException($"VqVae.Generate: {Config.Levels} prior(s) expected, got {priors.Count}", nameof(priors));
        using var _ = no_grad();
        var sides = Config.CodeMapSides();
        var codes = new List<Tensor>();
        for (int l = 0; l < Config.Levels; l++)
        {
            using var scope = NewDisposeScope();
            var condition = PriorCondition(l, codes);
            codes.Add(priors[l].Sample(n, sides[l], condition, temperature).MoveToOuterDisposeScope());
        }
        bool wasTraining = training;
        eval();
        try { return (Decode(codes), codes.ToArray()); }
        finally { train(wasTraining); }
    }
}
