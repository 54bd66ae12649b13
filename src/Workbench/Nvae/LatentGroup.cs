using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// One latent group z_l of NVAE's hierarchy with everything that belongs to it (Vahdat &amp; Kautz 2020, Fig. 2 and
/// Section 3.2): the bottom-up residual cells r_l that produce its encoder feature, the top-down residual cells
/// before it (none for the first group), the prior p(z_l | z_&lt;l) from the top-down state h (N(0, I) for the first
/// group), the encoder combiner (feature + 1×1 conv of h; for the first group ELU → 1×1 conv → ELU of the top
/// feature alone), the posterior q(z_l | x, z_&lt;l) (a 3×3 conv giving (Δμ, log Δσ) of the residual Normal,
/// Section 3.2, or q's own parameters), optional IAF cells on the posterior sample, and the decoder combiner
/// (concatenate h and z_l, 1×1 conv).
/// </summary>
public sealed class LatentGroup : nn.Module
{
    readonly Sequential encoderCells;
    readonly Sequential? decoderCells;
    readonly Sequential? prior;
    readonly Sequential? firstCombiner;
    readonly WeightNormConv2d? encoderCombiner;
    readonly WeightNormConv2d posterior;
    readonly ModuleList<InverseAutoregressiveCell> flows;
    readonly WeightNormConv2d decoderCombiner;
    readonly (int C, int H, int W) shape;
    readonly bool residualPosterior;

    /// <param name="first">the group sampled first (standard Normal prior, no top-down cells before it).</param>
    /// <param name="width">channels of h and of the encoder feature at this group's scale.</param>
    /// <param name="shape">latent shape (C, H, W).</param>
    /// <param name="config">cell counts, expansion, residual scale, IAF cells, weight normalisation.</param>
    public LatentGroup(bool first, long width, (int C, int H, int W) shape, NvaeConfig config) : base(nameof(LatentGroup))
    {
        bool wn = config.WeightNorm;
        double rs = config.ResidualScale;
        int z = shape.C;
        this.shape = shape;
        residualPosterior = config.ResidualPosterior;
        encoderCells = nn.Sequential(Enumerable.Range(0, config.EncoderCellsPerGroup)
            .Select(_ => (nn.Module<Tensor, Tensor>)new EncoderResidualCell(width, width, false, rs, wn)).ToList());
        if (first)
            firstCombiner = nn.Sequential(nn.ELU(), new WeightNormConv2d(width, width, 1, weightNorm: wn), nn.ELU());
        else
        {
            decoderCells = nn.Sequential(Enumerable.Range(0, config.DecoderCellsPerGroup)
                .Select(_ => (nn.Module<Tensor, Tensor>)new GeneratorResidualCell(width, width, config.Expansion, false, rs, wn)).ToList());
            prior = nn.Sequential(nn.ELU(), new WeightNormConv2d(width, 2 * z, 1, weightNorm: wn));
            encoderCombiner = new WeightNormConv2d(width, width, 1, weightNorm: wn);
        }
        posterior = new WeightNormConv2d(width, 2 * z, 3, padding: 1, weightNorm: wn);
        flows = new ModuleList<InverseAutoregressiveCell>(Enumerable.Range(0, config.IafCells)
            .Select(j => new InverseAutoregressiveCell(z, width, config.Expansion, mirror: j % 2 == 1)).ToArray());
        decoderCombiner = new WeightNormConv2d(width + z, width, 1, weightNorm: wn);
        RegisterComponents();
    }

    /// <summary>Bottom-up: this group's encoder feature from the feature below it.</summary>
    public Tensor BottomUp(Tensor h) => encoderCells.call(h);

    /// <summary>
    /// Top-down step at this group, in the caller's dispose scope. Runs the top-down cells on h, forms the prior, and
    /// draws z_l: from the posterior when <paramref name="feature"/> (this group's bottom-up feature) is given,
    /// else <paramref name="givenZ"/> or a prior sample at <paramref name="temperature"/>. Returns the new h
    /// (after the decoder combiner), z_l, the KL per variable (closed form; with IAF cells the one-sample
    /// log q − log p; zeros when sampling), Σ log q(z_l) per example (null when sampling) and Σ log p(z_l).
    /// </summary>
    public (Tensor H, Tensor Z, Tensor Kl, Tensor? LogQ, Tensor LogP) TopDown(Tensor h, Tensor? feature, double temperature, Tensor? givenZ)
    {
        long n = h.shape[0];
        var (zc, zh, zw) = shape;
        if (decoderCells is not null) h = decoderCells.call(h);
        DiagonalNormal p;
        if (prior is null)
            p = new DiagonalNormal(zeros(n, zc, zh, zw, device: h.device), ones(n, zc, zh, zw, device: h.device));
        else
        {
            var pp = prior.call(h).chunk(2, 1);
            p = DiagonalNormal.FromParams(pp[0], pp[1]);
        }
        Tensor zl, kl;
        Tensor? logQ = null;
        if (feature is not null)
        {
            var f = firstCombiner is not null ? firstCombiner.call(feature) : feature + encoderCombiner!.call(h);
            var qp = posterior.call(f).chunk(2, 1);
            var q = residualPosterior ? ResidualNormal.Posterior(p, qp[0], qp[1]) : DiagonalNormal.FromParams(qp[0], qp[1]);
            var z0 = q.Sample();
            zl = z0;
            foreach (var flow in flows) zl = flow.call(zl, f);
            // volume-preserving flows: log q(z_l) = log q0(z0); the KL then has no closed form
            var lq = q.LogProb(z0);
            kl = flows.Count == 0 ? q.Kl(p) : lq - p.LogProb(zl);
            logQ = lq.sum(new long[] { 1, 2, 3 });
        }
        else
        {
            zl = givenZ is not null ? givenZ.to(h.device).expand(n, -1, -1, -1) : p.Sample(temperature);
            kl = zeros(n, zc, zh, zw, device: h.device);
        }
        var logP = p.LogProb(zl).sum(new long[] { 1, 2, 3 });
        return (decoderCombiner.call(cat(new[] { h, zl }, 1)), zl, kl, logQ, logP);
    }
}
