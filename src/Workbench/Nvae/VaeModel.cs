using TorchSharp;
using TorchSharp.Modules;
using Workbench.Metrics;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Nvae;

/// <summary>
/// What the plain <see cref="Vae"/> and the hierarchical <see cref="Nvae"/> share: a forward pass that samples
/// z ~ q(z|x) and scores x, the likelihood, the spectral regulariser, and the evaluation built on them — the
/// negative ELBO in bits/dim, the importance-weighted bound (Burda et al. 2016), sampling with a temperature and
/// NVAE's BatchNorm re-adjustment for samples.
/// </summary>
public abstract class VaeModel : nn.Module<Tensor, VaeOutput>
{
    protected VaeModel(string name) : base(name) { }

    public abstract IImageLikelihood Likelihood { get; }

    /// <summary>Image shape (C, H, W) the model was built for.</summary>
    public abstract (int C, int H, int W) ImageShape { get; }

    /// <summary>Latent shape (C, H, W) per group, top-down (the first group sampled first).</summary>
    public abstract IReadOnlyList<(int C, int H, int W)> GroupShapes { get; }

    /// <summary>The 'square' KL-balancing α per group (see <see cref="KlBalancer.SquareAlpha"/>).</summary>
    public abstract double[] BalanceAlpha { get; }

    /// <summary>The spectral regulariser over every conv layer of the model.</summary>
    public abstract SpectralRegularizer Spectral { get; }

    /// <summary>
    /// Ancestral sampling from the prior at a temperature (every prior σ scaled by <paramref name="temperature"/>),
    /// with the latents of some groups given (null entries are sampled). Returns decoder parameters and all z.
    /// </summary>
    public abstract (Tensor Params, Tensor[] Z) Generate(long n, double temperature = 1.0, IReadOnlyList<Tensor?>? fixedZ = null);

    /// <summary>Whether training adds <see cref="BatchNormScalePenalty"/> (weighted like the spectral term).</summary>
    public virtual bool PenalizesBatchNormScale => false;

    /// <summary>
    /// NVAE's BatchNorm scale penalty (Vahdat &amp; Kautz 2020, Section 3.1, "Batch normalization"; NVAE's
    /// batchnorm_loss): Σ over BN layers of max_c |γ_c|, the largest absolute scale of each layer, differentiable
    /// in γ. Large BN scales can undo the Lipschitz bound of the spectral regularisation; NVAE weights this term with
    /// the spectral coefficient λ.
    /// </summary>
    public Tensor BatchNormScalePenalty()
    {
        using var scope = NewDisposeScope();
        var maxima = modules().OfType<BatchNorm2d>().Where(b => b.weight is not null).Select(b => b.weight!.abs().max()).ToArray();
        var device = parameters().First().device;
        return (maxima.Length == 0 ? zeros(Array.Empty<long>(), device: device) : stack(maxima).sum()).MoveToOuterDisposeScope();
    }

    public int Dimensions => ImageShape.C * ImageShape.H * ImageShape.W;

    /// <summary>Model input from uint8 images: [-1, 1].</summary>
    public static Tensor ToInput(Tensor images) => images.to(ScalarType.Float32) / 127.5 - 1;

    protected void CheckImages(Tensor images)
    {
        var (c, h, w) = ImageShape;
        Shapes.Expect(images, $"{GetName()}: uint8 images", "B", c, h, w);
        if (images.dtype != ScalarType.Byte)
            throw new ArgumentException($"{GetName()} expects uint8 images (the likelihood is over 8-bit values), got {images.dtype}");
    }

    /// <summary>nats per example to bits per dimension.</summary>
    public double ToBitsPerDim(double nats) => Metrics.BitsPerDim.FromLogProb(-nats, Dimensions);

    /// <summary>
    /// Importance-weighted bound log p(x) ≥ log (1/K) Σ_k p(x, z_k)/q(z_k|x), z_k ~ q (Burda et al. 2016), per
    /// example [B] nats, in the current mode (call eval() first for held-out numbers). K = 1 is the single-sample
    /// ELBO; the bound tightens as K grows. Samples are drawn in chunks of <paramref name="chunk"/> copies.
    /// </summary>
    public Tensor LogProb(Tensor images, int k = 1, int chunk = 8)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "K must be >= 1");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long b = images.shape[0];
        var weights = new List<Tensor>();
        for (int done = 0; done < k;)
        {
            int m = Math.Min(chunk, k - done);
            var rep = m == 1 ? images : images.repeat(m, 1, 1, 1);
            var lw = call(rep).LogWeight().reshape(m, b);
            weights.Add(lw);
            done += m;
        }
        return ImportanceWeighted.Bound(cat(weights, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of −<see cref="LogProb"/> over the batch, in bits/dim.</summary>
    public double BitsPerDim(Tensor images, int k = 1)
    {
        using var scope = NewDisposeScope();
        return ToBitsPerDim(-LogProb(images, k).mean().item<float>());
    }

    /// <summary>Negative ELBO with the closed-form KL, mean over the batch, in bits/dim.</summary>
    public double NegativeElboBitsPerDim(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return ToBitsPerDim(-call(images).Elbo().mean().item<float>());
    }

    /// <summary>Samples as uint8 images [n, C, H, W]: the mixture's mode/mean per pixel, or a sample of it.</summary>
    public Tensor SampleImages(long n, double temperature = 1.0, bool sampleLikelihood = false, IReadOnlyList<Tensor?>? fixedZ = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (p, _) = Generate(n, temperature, fixedZ);
        var img = sampleLikelihood ? Likelihood.Sample(p) : Likelihood.Mean(p);
        return img.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// NVAE's BatchNorm re-adjustment for samples at a temperature (Vahdat &amp; Kautz 2020, Section 5; NVAE's
    /// evaluate.py): the running statistics of every BN layer on the generative path are re-estimated from generated
    /// activations at <paramref name="temperature"/>. The reference keeps the old statistics and runs 500 sampling passes
    /// with momentum 0.05, after which 0.95⁵⁰⁰ ≈ 1e-11 of them remain. Here each layer is reset and then averages
    /// <paramref name="batches"/> passes of <paramref name="batchSize"/> cumulatively (momentum null, PyTorch's
    /// cumulative moving average): the same target, the expected batch statistics at this temperature, with nothing
    /// left of earlier temperatures after any number of passes. The momentum is restored afterwards. BN layers that
    /// sampling does not run (the bottom-up encoder's) keep their statistics exactly. What changes: the top-down
    /// cells feed p(x|z) and the posteriors q(z_l | x, z_&lt;l) for l ≥ 2, so reconstructions, those posteriors and
    /// an ELBO computed after a re-adjustment differ from before it; only z₁'s posterior is unchanged. Re-adjust for
    /// sampling, and evaluate likelihoods before re-adjusting (or on a freshly loaded model).
    /// </summary>
    /// <param name="temperature">the prior temperature the samples will be drawn at.</param>
    /// <param name="batches">sampling passes averaged (100 of 64 samples by default: 6,400 samples per layer).</param>
    /// <param name="batchSize">samples per pass (the reference samples 36 at a time; BN's batch statistics, and so the
    /// estimate of the per-batch variance, depend on it a little).</param>
    public void ReadjustBatchNorm(double temperature, int batches = 100, long batchSize = 64)
    {
        var layers = modules().OfType<BatchNorm2d>().ToArray();
        using var scope = NewDisposeScope();
        var saved = layers.Select(b => (Mean: b.running_mean!.clone(), Var: b.running_var!.clone(),
            Count: b.num_batches_tracked?.clone(), b.momentum)).ToArray();
        using (no_grad())
            foreach (var b in layers) { b.reset_running_stats(); b.momentum = null; }
        train();
        using (no_grad())
            for (int i = 0; i < batches; i++)
            {
                using var pass = NewDisposeScope();
                Generate(batchSize, temperature);
            }
        using (no_grad())
            for (int i = 0; i < layers.Length; i++)
            {
                var b = layers[i];
                b.momentum = saved[i].momentum;
                bool ran = b.num_batches_tracked is { } n && n.item<long>() > 0;
                if (ran) continue;
                b.running_mean!.copy_(saved[i].Mean);
                b.running_var!.copy_(saved[i].Var);
                if (saved[i].Count is { } c) b.num_batches_tracked!.copy_(c);
            }
        eval();
    }
}
