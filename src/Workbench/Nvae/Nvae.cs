using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// NVAE (Vahdat &amp; Kautz 2020, Section 3, Fig. 2): a deep hierarchical VAE with latent groups z_1 … z_L at
/// several scales. The prior is p(z) = Π_l p(z_l | z_&lt;l) with z_1 ~ N(0, I) at the smallest spatial size; the
/// bidirectional encoder runs a bottom-up path over x (<see cref="EncoderResidualCell"/>s, features kept per
/// group) and shares the top-down path with the generator (<see cref="GeneratorResidualCell"/>s): at group l the
/// top-down state h gives the prior's (μ_p, log σ_p), and h combined with the bottom-up feature of that group gives
/// (Δμ, log Δσ) of the residual Normal posterior (Section 3.2). z_l is merged back into h (concatenate + 1×1 conv),
/// and upsampling cells move h to the next, larger scale (each group's modules: <see cref="LatentGroup"/>).
/// Postprocessing cells bring h to full resolution and a 3×3 conv outputs the likelihood's parameters. Convs are
/// weight-normalised and the trainer adds the BN scale penalty when the config says so (Section 3.1).
/// </summary>
public sealed class Nvae : VaeModel
{
    readonly WeightNormConv2d stem;
    readonly Sequential pre;
    readonly ModuleList<LatentGroup> groups;          // [L], top-down order
    readonly ModuleList<EncoderResidualCell> encDown; // [S − 1]: scale s → s − 1 on the bottom-up path
    readonly ModuleList<GeneratorResidualCell> decUp; // [S − 1]: scale s − 1 → s on the top-down path
    readonly Parameter priorFeature;                  // the learned top-down input h_0
    readonly Sequential post;
    readonly WeightNormConv2d output;
    readonly SpectralRegularizer spectral;

    readonly IImageLikelihood likelihood;
    readonly (int C, int H, int W)[] groupShapes;
    readonly int[] groupScale;
    readonly double[] alpha;

    public NvaeConfig Config { get; }

    public Nvae(NvaeConfig config) : base(nameof(Nvae))
    {
        Config = config;
        var counts = config.Groups;
        int scales = counts.Length, p = config.PreprocessBlocks;
        if (scales < 1 || counts.Any(g => g < 1)) throw new ArgumentException("NvaeConfig.GroupsPerScale needs at least one scale with >= 1 group each");
        int factor = 1 << (p + scales - 1);
        if (config.ImageSize % factor != 0)
            throw new ArgumentException($"NvaeConfig.ImageSize {config.ImageSize} must be divisible by 2^(PreprocessBlocks + scales − 1) = {factor}");
        if (config.PreprocessBlocks < 1 || config.PreprocessCells < 1 || config.PostprocessCells < 1)
            throw new ArgumentException("NvaeConfig needs at least one preprocessing/postprocessing block and cell");
        if (config.IafCells < 0) throw new ArgumentOutOfRangeException(nameof(config), config.IafCells, "NvaeConfig.IafCells must be >= 0");

        likelihood = config.Likelihood == LikelihoodKind.Bernoulli
            ? new BernoulliLikelihood()
            : new DiscretizedLogisticMixture(config.Components);
        double rs = config.ResidualScale;
        bool wn = config.WeightNorm;

        stem = new WeightNormConv2d(config.ImageChannels, config.StemChannels, 3, padding: 1, weightNorm: wn);
        var preCells = new List<nn.Module<Tensor, Tensor>>();
        long c = config.StemChannels;
        for (int b = 0; b < p; b++)
            for (int i = 0; i < config.PreprocessCells; i++)
            {
                bool down = i == config.PreprocessCells - 1;
                preCells.Add(new EncoderResidualCell(c, down ? 2 * c : c, down, rs, wn));
                if (down) c *= 2;
            }
        pre = nn.Sequential(preCells);

        groupShapes = config.LatentGroupShapes();
        groupScale = counts.SelectMany((g, s) => Enumerable.Repeat(s, g)).ToArray();
        var groupList = groupShapes.Select((shape, l) => new LatentGroup(l == 0, config.ScaleWidth(groupScale[l]), shape, config)).ToArray();
        groups = new ModuleList<LatentGroup>(groupList);
        var downs = Enumerable.Range(1, scales - 1).Select(s => new EncoderResidualCell(config.ScaleWidth(s), config.ScaleWidth(s - 1), true, rs, wn)).ToArray();
        var ups = Enumerable.Range(1, scales - 1).Select(s => new GeneratorResidualCell(config.ScaleWidth(s - 1), config.ScaleWidth(s), config.Expansion, true, rs, wn)).ToArray();
        encDown = new ModuleList<EncoderResidualCell>(downs);
        decUp = new ModuleList<GeneratorResidualCell>(ups);
        priorFeature = new Parameter(rand(1, config.ScaleWidth(0), config.ScaleSide(0), config.ScaleSide(0)));

        var postCells = new List<nn.Module<Tensor, Tensor>>();
        c = config.ScaleWidth(scales - 1);
        for (int b = 0; b < p; b++)
            for (int i = 0; i < config.PostprocessCells; i++)
            {
                bool up = i == 0;
                postCells.Add(new GeneratorResidualCell(c, up ? c / 2 : c, config.Expansion, up, rs, wn));
                if (up) c /= 2;
            }
        post = nn.Sequential(postCells);
        output = new WeightNormConv2d(c, likelihood.ParamChannels(config.ImageChannels), 3, padding: 1, weightNorm: wn);

        // the raw modules (ModuleLists list their children only once registered in a parent)
        var parts = new nn.Module[] { stem, pre, post, output }.Concat(groupList).Concat(downs).Concat(ups);
        spectral = new SpectralRegularizer(parts);
        alpha = KlBalancer.SquareAlpha(counts);
        RegisterComponents();
    }

    public override IImageLikelihood Likelihood => likelihood;
    public override (int C, int H, int W) ImageShape => (Config.ImageChannels, Config.ImageSize, Config.ImageSize);
    public override IReadOnlyList<(int C, int H, int W)> GroupShapes => groupShapes;
    public override double[] BalanceAlpha => alpha;
    public override SpectralRegularizer Spectral => spectral;
    public override bool PenalizesBatchNormScale => Config.BatchNormPenalty;

    /// <summary>The scale index (0 = smallest) of each group.</summary>
    public IReadOnlyList<int> GroupScale => groupScale;

    /// <summary>Bottom-up path: the feature of every group (index l, top-down order), computed from the largest
    /// scale's last group to the first group.</summary>
    Tensor[] BottomUp(Tensor x)
    {
        var feats = new Tensor[groupShapes.Length];
        var h = pre.call(stem.call(x));
        for (int l = groupShapes.Length - 1; l >= 0; l--)
        {
            if (l < groupShapes.Length - 1 && groupScale[l] != groupScale[l + 1]) h = encDown[groupScale[l]].call(h);
            h = groups[l].BottomUp(h);
            feats[l] = h;
        }
        return feats;
    }

    /// <summary>
    /// The top-down path (Fig. 2): from h_0, for each group l, upsample when the scale changes, then the group's
    /// top-down step. With <paramref name="feats"/> (encoding) z_l ~ q(z_l | x, z_&lt;l); without, z_l comes from
    /// <paramref name="fixedZ"/> or the prior at <paramref name="temperature"/>.
    /// </summary>
    (Tensor Params, Tensor[] Z, Tensor[] Kl, Tensor LogQ, Tensor LogP) TopDown(long n, Tensor[]? feats, double temperature, IReadOnlyList<Tensor?>? fixedZ)
    {
        int total = groupShapes.Length;
        var h = priorFeature.expand(n, -1, -1, -1);
        var zs = new Tensor[total];
        var kls = new Tensor[total];
        Tensor? logQ = null, logP = null;
        for (int l = 0; l < total; l++)
        {
            if (l > 0 && groupScale[l] != groupScale[l - 1]) h = decUp[groupScale[l] - 1].call(h);
            var given = feats is null && fixedZ is not null && l < fixedZ.Count ? fixedZ[l] : null;
            var (next, z, kl, lq, lp) = groups[l].TopDown(h, feats?[l], temperature, given);
            h = next; zs[l] = z; kls[l] = kl;
            if (lq is not null) logQ = logQ is null ? lq : logQ + lq;
            logP = logP is null ? lp : logP + lp;
        }
        h = post.call(h);
        var parameters = output.call(nn.functional.elu(h, 1.0, false));
        return (parameters, zs, kls, logQ ?? zeros(n, device: h.device), logP!);
    }

    public override VaeOutput forward(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        var x = ToInput(images);
        var feats = BottomUp(x);
        var (parameters, zs, kls, logQ, logP) = TopDown(images.shape[0], feats, 1.0, null);
        var logPx = likelihood.LogProb(parameters, images);
        var outp = new VaeOutput(parameters, logPx, kls, logQ, logP, zs);
        foreach (var t in new[] { parameters, logPx, logQ, logP }.Concat(kls).Concat(zs)) t.MoveToOuterDisposeScope();
        return outp;
    }

    public override (Tensor Params, Tensor[] Z) Generate(long n, double temperature = 1.0, IReadOnlyList<Tensor?>? fixedZ = null)
    {
        using var scope = NewDisposeScope();
        var (parameters, zs, _, _, _) = TopDown(n, null, temperature, fixedZ);
        parameters.MoveToOuterDisposeScope();
        foreach (var t in zs) t.MoveToOuterDisposeScope();
        return (parameters, zs);
    }
}
