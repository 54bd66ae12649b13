using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// VQ-VAE's vector quantisation (van den Oord et al. 2017, Section 3.1-3.2, Appendix A.1). A codebook e ∈ R^{K×D};
/// each D-vector of z_e(x) [B, D, H, W] is replaced by its nearest code (Eq. 1-2), and the decoder's gradient is copied
/// straight through to z_e(x): z_q = z_e + sg[e_k − z_e]. The losses of Eq. 3 are returned separately.
/// In training mode the quantizer also keeps per-code usage counts N_i ← γ N_i + (1 − γ) n_i (n_i: the batch's
/// assignments to code i) and, under <see cref="CodebookUpdate.Ema"/>, the appendix's EMA update
/// m_i ← γ m_i + (1 − γ) Σ_{j: k_j = i} z_e,j and e_i = m_i / Ñ_i with Laplace-smoothed counts
/// Ñ_i = (N_i + ε) / (Σ_k N_k + K ε) · Σ_k N_k. With dead-code restarts, a code whose N_i falls below a threshold is
/// moved to a random encoder output of the batch (N_i = 1, m_i = e_i). N starts at 1 and m at the initial codebook (one
/// pseudo-assignment per code, so an unused code stays where it is).
/// </summary>
public sealed class VectorQuantizer : nn.Module<Tensor, QuantizerOutput>
{
    readonly Parameter codebook;     // e [K, D]; trained by gradient only under CodebookUpdate.Loss
    readonly Tensor cluster_size;    // N [K]
    readonly Tensor ema_sum;         // m [K, D]

    public VectorQuantizer(int codes, int dim, CodebookUpdate update = CodebookUpdate.Ema, double decay = 0.99,
        double epsilon = 1e-5, bool deadCodeRestart = false, double deadCodeThreshold = 1.0) : base(nameof(VectorQuantizer))
    {
        if (codes < 2 || dim < 1) throw new ArgumentException($"VectorQuantizer needs K ≥ 2 codes of dimension ≥ 1, got K = {codes}, D = {dim}");
        if (decay is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(decay), decay, "the EMA decay γ must be in (0, 1)");
        Codes = codes; Dim = dim; Update = update; Decay = decay; Epsilon = epsilon;
        DeadCodeRestart = deadCodeRestart; DeadCodeThreshold = deadCodeThreshold;
        var init = empty(codes, dim).uniform_(-1.0 / codes, 1.0 / codes);
        cluster_size = ones(codes);
        ema_sum = init.clone();
        codebook = new Parameter(init, requires_grad: update == CodebookUpdate.Loss);
        RegisterComponents();
    }

    public int Codes { get; }
    public int Dim { get; }
    public CodebookUpdate Update { get; }
    public double Decay { get; }
    public double Epsilon { get; }
    public bool DeadCodeRestart { get; }
    public double DeadCodeThreshold { get; }

    /// <summary>Codes restarted by the last training-mode pass (<see cref="UpdateCodebook"/>).</summary>
    public long LastRestarts { get; private set; }

    /// <summary>The codebook e [K, D].</summary>
    public Parameter Codebook => codebook;

    /// <summary>The EMA usage counts N [K].</summary>
    public Tensor ClusterSize => cluster_size;

    /// <summary>The EMA sums m [K, D] (used under <see cref="CodebookUpdate.Ema"/>).</summary>
    public Tensor EmaSum => ema_sum;

    /// <summary>Nearest codes k = argmin_j ‖z − e_j‖² of vectors z [N, D] (Eq. 1), int64 [N]; no gradient.</summary>
    public Tensor Nearest(Tensor flat)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var e = codebook.detach();
        var d = flat.pow(2).sum(new long[] { 1 }, keepdim: true) - 2 * flat.matmul(e.t()) + e.pow(2).sum(new long[] { 1 }).unsqueeze(0);
        return d.argmin(1).MoveToOuterDisposeScope();
    }

    /// <summary>The codes' vectors e_k [B, D, H, W] of indices [B, H, W] (for decoding a sampled code map).</summary>
    public Tensor Lookup(Tensor indices)
    {
        Shapes.Expect(indices, "VectorQuantizer: code indices", "B", "H", "W");
        using var scope = NewDisposeScope();
        var q = codebook.index_select(0, indices.reshape(-1).to(ScalarType.Int64).to(codebook.device));
        return q.reshape(indices.shape[0], indices.shape[1], indices.shape[2], Dim).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    public override QuantizerOutput forward(Tensor ze)
    {
        Shapes.Expect(ze, "VectorQuantizer: z_e(x)", "B", Dim, "H", "W");
        long b = ze.shape[0], h = ze.shape[2], w = ze.shape[3];
        var flat = ze.permute(0, 2, 3, 1).reshape(-1, Dim);
        var idx = Nearest(flat.detach());
        var zq = codebook.index_select(0, idx).reshape(b, h, w, Dim).permute(0, 3, 1, 2);
        var codebookLoss = nn.functional.mse_loss(zq, ze.detach());
        var commitment = nn.functional.mse_loss(ze, zq.detach());
        var straightThrough = ze + (zq - ze).detach();
        double perplexity;
        long used;
        using (no_grad())
        using (NewDisposeScope())
        {
            var counts = bincount(idx, minlength: Codes).to(ScalarType.Float64);
            var p = counts / counts.sum();
            perplexity = exp(-(p * log(p.clamp_min(1e-30))).sum()).item<double>();
            used = (counts > 0).sum().item<long>();
        }
        if (training) UpdateCodebook(flat.detach(), idx);
        return new QuantizerOutput(straightThrough, idx.reshape(b, h, w), codebookLoss, commitment, perplexity, used);
    }

    /// <summary>
    /// The training-time bookkeeping of Appendix A.1 for vectors z [N, D] assigned to codes k [N]: the usage counts N,
    /// under <see cref="CodebookUpdate.Ema"/> the sums m and the codebook e = m / Ñ, then dead-code restarts when enabled.
    /// Returns how many codes were restarted.
    /// </summary>
    public long UpdateCodebook(Tensor flat, Tensor indices)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var z = flat.to(codebook.dtype);
        var onehot = nn.functional.one_hot(indices, Codes).to(z.dtype);           // [N, K]
        var n = onehot.sum(new long[] { 0 });                                       // n_i
        cluster_size.mul_(Decay).add_(n, alpha: 1 - Decay);
        if (Update == CodebookUpdate.Ema)
        {
            ema_sum.mul_(Decay).add_(onehot.t().matmul(z), alpha: 1 - Decay);
            var total = cluster_size.sum();
            var smoothed = (cluster_size + Epsilon) / (total + Codes * Epsilon) * total;
            codebook.copy_(ema_sum / smoothed.unsqueeze(1));
        }
        LastRestarts = 0;
        if (!DeadCodeRestart) return 0;
        var dead = (cluster_size < DeadCodeThreshold).nonzero().reshape(-1);
        long count = dead.shape[0];
        if (count == 0) return 0;
        var rows = randint(0, z.shape[0], new long[] { count }, dtype: ScalarType.Int64, device: z.device);
        var fresh = z.index_select(0, rows);
        codebook.index_copy_(0, dead, fresh);
        ema_sum.index_copy_(0, dead, fresh);
        cluster_size.index_fill_(0, dead, 1.0);
        LastRestarts = count;
        return count;
    }
}
