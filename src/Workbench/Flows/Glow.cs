using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Flows;

/// <summary>
/// Glow (Kingma &amp; Dhariwal 2018): the multi-scale architecture of Figure 2b. Each of the L levels squeezes,
/// applies K flow steps and, except the last, splits off half of the channels with a learned conditional
/// Gaussian prior; the top has a learned Gaussian prior. Every latent is written as standardised noise, so the
/// whole model is one bijection x &lt;-&gt; eps with eps ~ N(0, I) and
/// log p(x~) = log N(eps; 0, I) + log|det(d eps / dx~)| (Section 2, Eq. 1-3).
/// Inputs are flow inputs in [-0.5, 0.5] (<see cref="Workbench.Data.Preprocess.ToFlowInput"/>).
/// <see cref="Encode"/> / <see cref="Decode"/> use the flat latent [B, C*H*W] (all levels' eps concatenated).
/// </summary>
public sealed class Glow : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<FlowSequence> levels;
    readonly ModuleList<Split> splits;
    readonly LearnedPrior prior;
    readonly List<long[]> latentShapes = new();

    public Glow(GlowConfig config, long channels, long height, long width) : base(nameof(Glow))
    {
        if (config.Levels < 1 || config.StepsPerLevel < 1 || config.HiddenChannels < 1)
            throw new ArgumentException($"Glow: Levels, StepsPerLevel and HiddenChannels must be positive ({config})");
        long scale = 1L << config.Levels;
        if (height % scale != 0 || width % scale != 0)
            throw new ArgumentException(
                $"Glow: {config.Levels} levels squeeze by {scale}, so height and width must be multiples of {scale}; got {height}x{width}. " +
                "Use fewer Levels or pad the images.");
        Config = config;
        Channels = channels; Height = height; Width = width;

        var levelList = new List<FlowSequence>();
        var splitList = new List<Split>();
        long c = channels, h = height, w = width;
        for (int l = 0; l < config.Levels; l++)
        {
            c *= 4; h /= 2; w /= 2;
            var steps = new List<FlowLayer>();
            for (int k = 0; k < config.StepsPerLevel; k++)
                steps.Add(new FlowStep(c, config, l * config.StepsPerLevel + k));
            levelList.Add(new FlowSequence(steps, $"Level{l}"));
            if (l < config.Levels - 1)
            {
                var split = new Split(c, config.Padding);
                splitList.Add(split);
                latentShapes.Add(new[] { split.FactoredChannels, h, w });
                c = split.KeptChannels;
            }
        }
        latentShapes.Add(new[] { c, h, w });
        levels = new ModuleList<FlowSequence>(levelList.ToArray());
        splits = new ModuleList<Split>(splitList.ToArray());
        prior = new LearnedPrior(c, h, w, config.LearnTopPrior, config.Padding);
        RegisterComponents();
    }

    public GlowConfig Config { get; }
    public long Channels { get; }
    public long Height { get; }
    public long Width { get; }

    /// <summary>D = C*H*W, the dimension of bits/dim.</summary>
    public long Dimensions => Channels * Height * Width;

    /// <summary>Shapes [C, H, W] of the latents, from the first split to the top.</summary>
    public IReadOnlyList<long[]> LatentShapes => latentShapes;

    public long ParameterCount => parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    void CheckInput(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != Channels || x.shape[2] != Height || x.shape[3] != Width)
            throw new ArgumentException(
                $"Glow: expected flow input [B, {Channels}, {Height}, {Width}] in [-0.5, 0.5], got {Shapes.Of(x)}");
    }

    /// <summary>x~ to the latents (standardised noise per level) and log|det| per example.</summary>
    public (Tensor[] Eps, Tensor LogDet) EncodeLevels(Tensor x)
    {
        CheckInput(x);
        var eps = new List<Tensor>();
        var logdet = zeros(x.shape[0], dtype: x.dtype, device: x.device);
        var h = x;
        for (int l = 0; l < levels.Count; l++)
        {
            h = Squeeze.Apply(h);
            var (y, ld) = levels[l].Forward(h);
            logdet = logdet + ld;
            h = y;
            if (l < splits.Count)
            {
                var (kept, e, lds) = splits[l].call(h);
                eps.Add(e);
                logdet = logdet + lds;
                h = kept;
            }
        }
        var (top, ldp) = prior.Forward(h);
        eps.Add(top);
        return (eps.ToArray(), logdet + ldp);
    }

    /// <summary>The inverse of <see cref="EncodeLevels"/>.</summary>
    public Tensor DecodeLevels(IReadOnlyList<Tensor> eps)
    {
        if (eps.Count != latentShapes.Count)
            throw new ArgumentException($"Glow.Decode: expected {latentShapes.Count} latents, got {eps.Count}");
        var h = prior.Inverse(eps[^1]);
        for (int l = levels.Count - 1; l >= 0; l--)
        {
            if (l < splits.Count) h = splits[l].Inverse(h, eps[l]);
            h = levels[l].Inverse(h);
            h = Squeeze.Unapply(h);
        }
        return h;
    }

    /// <summary>x~ [B, C, H, W] to the flat latent eps [B, D] (standard normal under the model).</summary>
    public Tensor Encode(Tensor x) => cat(EncodeLevels(x).Eps.Select(e => e.flatten(1)).ToArray(), 1);

    /// <summary>Flat latent [B, D] back to x [B, C, H, W] (exact inverse of <see cref="Encode"/>).</summary>
    public Tensor Decode(Tensor z)
    {
        Shapes.Expect(z, "Glow.Decode: the flat latent", "B", Dimensions);
        var parts = new List<Tensor>();
        long offset = 0;
        foreach (var s in latentShapes)
        {
            long n = s[0] * s[1] * s[2];
            parts.Add(z.narrow(1, offset, n).reshape(z.shape[0], s[0], s[1], s[2]));
            offset += n;
        }
        return DecodeLevels(parts);
    }

    /// <summary>Continuous log-density log p(x~) in nats per example [B], for flow inputs in [-0.5, 0.5].</summary>
    public Tensor LogDensity(Tensor x)
    {
        var (eps, logdet) = EncodeLevels(x);
        var logp = logdet;
        foreach (var e in eps) logp = logp + Metrics.BitsPerDim.StandardNormalLogDensity(e);
        return logp;
    }

    /// <summary>
    /// log p(x) of the discrete n-bit data in nats per example [B]: log p(x~) − D log n_bins for a dequantized
    /// flow input x~ (an unbiased estimate of a lower bound on the discrete log-likelihood).
    /// </summary>
    public Tensor LogProb(Tensor x) => Metrics.BitsPerDim.DiscreteLogProb(LogDensity(x), Dimensions, Config.NBits);

    /// <summary>The module's forward: <see cref="LogProb"/>.</summary>
    public override Tensor forward(Tensor x) => LogProb(x);

    /// <summary>Bits per dimension per example [B]: −log p(x) / (D ln 2).</summary>
    public Tensor BitsPerDim(Tensor x) => Metrics.BitsPerDim.FromLogProb(LogProb(x), Dimensions);

    /// <summary>
    /// n samples at a temperature: eps ~ N(0, T² I), i.e. the prior std scaled by T at the top and at every split
    /// (Glow, Section 6 / Figure 8). Returns flow outputs [n, C, H, W] (clamp to [-0.5, 0.5] and convert with
    /// <see cref="Workbench.Data.Preprocess.FromFlowOutput"/>). Runs without gradients.
    /// </summary>
    public Tensor Sample(int n, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = parameters().First();
        var z = randn(n, Dimensions, dtype: p.dtype, device: p.device) * temperature;
        return Decode(z).MoveToOuterDisposeScope();
    }
}
