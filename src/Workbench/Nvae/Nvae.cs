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
/// and upsampling cells move h to the next, larger scale. Postprocessing cells bring h to full resolution and a
/// 3×3 conv outputs the likelihood's parameters.
/// </summary>
public sealed class Nvae : VaeModel
{
    readonly Conv2d stem;
    readonly Sequential pre;
    readonly ModuleList<Sequential> encCells;     // [L], bottom-up cells of each group
    readonly ModuleList<EncoderResidualCell> encDown; // [S − 1], between scales
    readonly Sequential enc0;                     // on the top feature, before group 1's sampler
    readonly ModuleList<Conv2d> encSampler;       // [L]: (Δμ, log Δσ) (or q's parameters)
    readonly ModuleList<Conv2d> encCombiner;      // [L − 1]: feature + 1×1 conv of the top-down state
    readonly Parameter priorFeature;              // the learned top-down input h_0
    readonly ModuleList<Sequential> decCells;     // [L − 1], top-down cells before groups 2..L
    readonly ModuleList<GeneratorResidualCell> decUp; // [S − 1]
    readonly ModuleList<Sequential> decSampler;   // [L − 1]: prior (μ_p, log σ_p)
    readonly ModuleList<Conv2d> decCombiner;      // [L]: concat(h, z) → 1×1 conv
    readonly Sequential post;
    readonly Conv2d output;
    readonly ModuleList<InverseAutoregressiveCell> iaf; // [L × IafCells], optional flows on q (off by default)
    readonly SpectralRegularizer spectral;

    readonly IImageLikelihood likelihood;
    readonly (int C, int H, int W)[] groupShapes;
    readonly int[] groupScale;
    readonly double[] alpha;

    public NvaeConfig Config { get; }

    public Nvae(NvaeConfig config) : base(nameof(Nvae))
    {
        Config = config;
        var groups = config.Groups;
        int scales = groups.Length, p = config.PreprocessBlocks;
        if (scales < 1 || groups.Any(g => g < 1)) throw new ArgumentException("NvaeConfig.GroupsPerScale needs at least one scale with >= 1 group each");
        int factor = 1 << (p + scales - 1);
        if (config.ImageSize % factor != 0)
            throw new ArgumentException($"NvaeConfig.ImageSize {config.ImageSize} must be divisible by 2^(PreprocessBlocks + scales − 1) = {factor}");
        if (config.PreprocessBlocks < 1 || config.PreprocessCells < 1 || config.PostprocessCells < 1)
            throw new ArgumentException("NvaeConfig needs at least one preprocessing/postprocessing block and cell");

        likelihood = config.Likelihood == LikelihoodKind.Bernoulli
            ? new BernoulliLikelihood()
            : new DiscretizedLogisticMixture(config.Components);
        int z = config.LatentChannels;
        double rs = config.ResidualScale;
        int ScaleSide(int s) => config.ImageSize >> (p + scales - 1 - s);
        long ScaleWidth(int s) => (long)config.StemChannels << (p + scales - 1 - s);

        stem = nn.Conv2d(config.ImageChannels, config.StemChannels, 3, padding: 1);
        var preCells = new List<nn.Module<Tensor, Tensor>>();
        long c = config.StemChannels;
        for (int b = 0; b < p; b++)
            for (int i = 0; i < config.PreprocessCells; i++)
            {
                bool down = i == config.PreprocessCells - 1;
                preCells.Add(new EncoderResidualCell(c, down ? 2 * c : c, down, rs));
                if (down) c *= 2;
            }
        pre = nn.Sequential(preCells);

        int total = groups.Sum();
        groupShapes = new (int, int, int)[total];
        groupScale = new int[total];
        for (int s = 0, l = 0; s < scales; s++)
            for (int g = 0; g < groups[s]; g++, l++) { groupShapes[l] = (z, ScaleSide(s), ScaleSide(s)); groupScale[l] = s; }

        var ec = new List<Sequential>();
        var es = new List<Conv2d>();
        var ecomb = new List<Conv2d>();
        var dc = new List<Sequential>();
        var ds = new List<Sequential>();
        var dcomb = new List<Conv2d>();
        var flows = new List<InverseAutoregressiveCell>();
        if (config.IafCells < 0) throw new ArgumentOutOfRangeException(nameof(config), config.IafCells, "NvaeConfig.IafCells must be >= 0");
        for (int l = 0; l < total; l++)
        {
            long w = ScaleWidth(groupScale[l]);
            for (int j = 0; j < config.IafCells; j++) flows.Add(new InverseAutoregressiveCell(z, w, config.Expansion, mirror: j % 2 == 1));
            ec.Add(nn.Sequential(Enumerable.Range(0, config.EncoderCellsPerGroup)
                .Select(_ => (nn.Module<Tensor, Tensor>)new EncoderResidualCell(w, w, false, rs)).ToList()));
            es.Add(nn.Conv2d(w, 2 * z, 3, padding: 1));
            dcomb.Add(nn.Conv2d(w + z, w, 1));
            if (l > 0)
            {
                ecomb.Add(nn.Conv2d(w, w, 1));
                dc.Add(nn.Sequential(Enumerable.Range(0, config.DecoderCellsPerGroup)
                    .Select(_ => (nn.Module<Tensor, Tensor>)new GeneratorResidualCell(w, w, config.Expansion, false, rs)).ToList()));
                ds.Add(nn.Sequential(nn.ELU(), nn.Conv2d(w, 2 * z, 1)));
            }
        }
        encCells = new ModuleList<Sequential>(ec.ToArray());
        encSampler = new ModuleList<Conv2d>(es.ToArray());
        encCombiner = new ModuleList<Conv2d>(ecomb.ToArray());
        decCells = new ModuleList<Sequential>(dc.ToArray());
        decSampler = new ModuleList<Sequential>(ds.ToArray());
        decCombiner = new ModuleList<Conv2d>(dcomb.ToArray());
        iaf = new ModuleList<InverseAutoregressiveCell>(flows.ToArray());
        var downs = Enumerable.Range(1, scales - 1).Select(s => new EncoderResidualCell(ScaleWidth(s), ScaleWidth(s - 1), true, rs)).ToArray();
        var ups = Enumerable.Range(1, scales - 1).Select(s => new GeneratorResidualCell(ScaleWidth(s - 1), ScaleWidth(s), config.Expansion, true, rs)).ToArray();
        encDown = new ModuleList<EncoderResidualCell>(downs);
        decUp = new ModuleList<GeneratorResidualCell>(ups);
        long top = ScaleWidth(0);
        enc0 = nn.Sequential(nn.ELU(), nn.Conv2d(top, top, 1), nn.ELU());
        priorFeature = new Parameter(rand(1, top, ScaleSide(0), ScaleSide(0)));

        var postCells = new List<nn.Module<Tensor, Tensor>>();
        c = ScaleWidth(scales - 1);
        for (int b = 0; b < p; b++)
            for (int i = 0; i < config.PostprocessCells; i++)
            {
                bool up = i == 0;
                postCells.Add(new GeneratorResidualCell(c, up ? c / 2 : c, config.Expansion, up, rs));
                if (up) c /= 2;
            }
        post = nn.Sequential(postCells);
        output = nn.Conv2d(c, likelihood.ParamChannels(config.ImageChannels), 3, padding: 1);

        // the raw modules (ModuleLists list their children only once registered in a parent)
        var parts = new nn.Module[] { stem, pre, enc0, post, output }.Concat(ec).Concat(es).Concat(ecomb).Concat(dc).Concat(ds)
            .Concat(dcomb).Concat(downs).Concat(ups);
        spectral = new SpectralRegularizer(parts.SelectMany(SpectralRegularizer.ConvLayers));
        alpha = KlBalancer.SquareAlpha(groups);
        RegisterComponents();
    }

    public override IImageLikelihood Likelihood => likelihood;
    public override (int C, int H, int W) ImageShape => (Config.ImageChannels, Config.ImageSize, Config.ImageSize);
    public override IReadOnlyList<(int C, int H, int W)> GroupShapes => groupShapes;
    public override double[] BalanceAlpha => alpha;
    public override SpectralRegularizer Spectral => spectral;

    /// <summary>The scale index (0 = smallest) of each group.</summary>
    public IReadOnlyList<int> GroupScale => groupScale;

    /// <summary>Bottom-up path: the feature per group (index l, top-down order).</summary>
    Tensor[] BottomUp(Tensor x)
    {
        var feats = new Tensor[groupShapes.Length];
        var h = pre.call(stem.call(x));
        var groups = Config.Groups;
        for (int s = groups.Length - 1; s >= 0; s--)
        {
            int first = groups.Take(s).Sum();
            for (int g = groups[s] - 1; g >= 0; g--)
            {
                h = encCells[first + g].call(h);
                feats[first + g] = h;
            }
            if (s > 0) h = encDown[s - 1].call(h);
        }
        return feats;
    }

    /// <summary>
    /// The top-down path. With <paramref name="feats"/> (encoding) z_l ~ q(z_l | x, z_&lt;l); without, z_l comes
    /// from <paramref name="fixedZ"/> or the prior at <paramref name="temperature"/>.
    /// </summary>
    (Tensor Params, Tensor[] Z, Tensor[] Kl, Tensor LogQ, Tensor LogP) TopDown(long n, Tensor[]? feats, double temperature, IReadOnlyList<Tensor?>? fixedZ)
    {
        int total = groupShapes.Length;
        var groups = Config.Groups;
        var h = priorFeature.expand(n, -1, -1, -1);
        var zs = new Tensor[total];
        var kls = new Tensor[total];
        Tensor? logQ = null, logP = null;
        for (int l = 0; l < total; l++)
        {
            int s = groupScale[l];
            bool firstOfScale = l == groups.Take(s).Sum();
            if (firstOfScale && s > 0) h = decUp[s - 1].call(h);
            if (l > 0) h = decCells[l - 1].call(h);
            var (zc, zh, zw) = groupShapes[l];
            DiagonalNormal prior;
            if (l == 0)
                prior = new DiagonalNormal(zeros(n, zc, zh, zw, device: h.device), ones(n, zc, zh, zw, device: h.device));
            else
            {
                var pp = decSampler[l - 1].call(h).chunk(2, 1);
                prior = DiagonalNormal.FromParams(pp[0], pp[1]);
            }
            Tensor zl;
            if (feats is not null)
            {
                var f = l == 0 ? enc0.call(feats[0]) : feats[l] + encCombiner[l - 1].call(h);
                var qp = encSampler[l].call(f).chunk(2, 1);
                var q = Config.ResidualPosterior ? ResidualNormal.Posterior(prior, qp[0], qp[1]) : DiagonalNormal.FromParams(qp[0], qp[1]);
                var z0 = q.Sample();
                zl = z0;
                int nf = Config.IafCells;
                for (int j = 0; j < nf; j++) zl = iaf[l * nf + j].call(zl, f);
                // volume-preserving flows: log q(z_l) = log q0(z0); the KL then has no closed form and is the
                // one-sample estimate log q − log p
                var lqElem = q.LogProb(z0);
                kls[l] = nf == 0 ? q.Kl(prior) : lqElem - prior.LogProb(zl);
                var lq = lqElem.sum(new long[] { 1, 2, 3 });
                logQ = logQ is null ? lq : logQ + lq;
            }
            else
            {
                var given = fixedZ is not null && l < fixedZ.Count ? fixedZ[l] : null;
                zl = given is not null ? given.to(h.device).expand(n, -1, -1, -1) : prior.Sample(temperature);
                kls[l] = zeros(n, zc, zh, zw, device: h.device);
            }
            var lp = prior.LogProb(zl).sum(new long[] { 1, 2, 3 });
            logP = logP is null ? lp : logP + lp;
            zs[l] = zl;
            h = decCombiner[l].call(cat(new[] { h, zl }, 1));
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
