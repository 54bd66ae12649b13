using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// Trains a <see cref="VaeModel"/> (plain VAE or NVAE): loss per example = −log p(x|z) + β·Σ_l γ_l·KL_l
/// (warm-up β, balancing γ; <see cref="KlBalancer"/>), averaged over the batch, plus λ·Σ_i s_i (spectral
/// regularisation). Adamax with linear LR warm-up then cosine decay, gradient clipping, every step inside a dispose
/// scope (<see cref="TrainStep.Run"/>), which stops with the step number on a NaN/∞ loss or gradient.
/// Logs to <see cref="Log"/>: loss, recon (nats), kl (nats, unweighted), bpd (train −ELBO), beta, lr, sr (Σ s_i),
/// kl_g{l} (nats per group) and au_g{l} (active units per group); <see cref="Evaluate"/> adds test metrics.
/// </summary>
public sealed class NvaeTrainer
{
    readonly VaeModel model;
    readonly optim.Optimizer optimizer;
    readonly Parameter[] parameters;
    readonly Tensor alpha;

    public NvaeTrainerConfig Config { get; }
    public TrainingLog Log { get; }
    /// <summary>Optimizer steps taken so far (set it when resuming from a checkpoint).</summary>
    public long Step { get; set; }

    /// <summary>The Adamax optimizer (for checkpoints: its state resumes with the run).</summary>
    public optim.Optimizer Optimizer => optimizer;

    public NvaeTrainer(VaeModel model, NvaeTrainerConfig? config = null, TrainingLog? log = null)
    {
        this.model = model;
        Config = config ?? new NvaeTrainerConfig();
        Log = log ?? new TrainingLog();
        parameters = model.parameters().ToArray();
        optimizer = optim.Adamax(parameters, lr: Config.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-3, weight_decay: Config.WeightDecay);
        alpha = tensor(model.BalanceAlpha.Select(a => (float)a).ToArray());
    }

    /// <summary>Linear warm-up then cosine decay to the minimum.</summary>
    public double LearningRateAt(long step)
    {
        var c = Config;
        if (step < c.WarmupSteps) return c.LearningRate * (step + 1) / c.WarmupSteps;
        double t = Math.Min(1.0, (step - c.WarmupSteps) / (double)Math.Max(1, c.Steps - c.WarmupSteps));
        return c.MinLearningRate + 0.5 * (c.LearningRate - c.MinLearningRate) * (1 + Math.Cos(Math.PI * t));
    }

    /// <summary>β at a step (<see cref="KlBalancer.WarmupCoefficient"/>).</summary>
    public double BetaAt(long step) => KlBalancer.WarmupCoefficient(step,
        (long)(Config.KlAnnealFraction * Config.Steps), (long)(Config.KlConstFraction * Config.Steps), Config.KlMinCoefficient);

    /// <summary>λ at a given β: log-linear from λ_init (β = 0) to λ (β = 1), as NVAE's code anneals its norm weight.</summary>
    public double SpectralLambdaAt(double beta) => Config.SpectralLambdaInit is double init && Config.SpectralLambda > 0
        ? Math.Exp((1 - beta) * Math.Log(init) + beta * Math.Log(Config.SpectralLambda))
        : Config.SpectralLambda;

    /// <summary>One optimizer step on a batch of uint8 images; returns the loss. Logs every <paramref name="logEvery"/> steps.</summary>
    public double TrainStepOn(Tensor images, int logEvery = 1)
    {
        long step = Step;
        double lr = LearningRateAt(step);
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
        double beta = BetaAt(step), lambda = SpectralLambdaAt(beta);
        bool logNow = logEvery > 0 && step % logEvery == 0;
        double recon = 0, kl = 0, sr = 0, elbo = 0;
        double[] klGroups = Array.Empty<double>(), active = Array.Empty<double>();
        model.train();
        var result = TrainStep.Run(optimizer, parameters, () =>
        {
            var o = model.call(images);
            var klG = o.KlPerGroup();
            var (klBal, _) = KlBalancer.Balance(klG, beta, Config.KlBalance, alpha);
            var nll = -o.LogPx;
            var loss = (nll + klBal).mean();
            if (lambda > 0)
            {
                var s = model.Spectral.SumOfSigmas(Config.PowerIterations);
                sr = s.item<float>();
                loss = loss + lambda * s;
                if (model.PenalizesBatchNormScale) loss = loss + lambda * model.BatchNormScalePenalty();
            }
            if (logNow)
            {
                recon = nll.mean().item<float>();
                var perGroup = klG.mean(new long[] { 0 }).data<float>().ToArray();
                klGroups = perGroup.Select(v => (double)v).ToArray();
                kl = klGroups.Sum();
                elbo = recon + kl;
                active = o.Kl.Select(k => (double)(k.mean(new long[] { 0 }) > Config.ActiveUnitThreshold).sum().item<long>()).ToArray();
            }
            return loss;
        }, step, Config.MaxGradNorm);
        if (logNow)
        {
            var row = new List<(string, double)>
            {
                ("loss", result.Loss), ("recon", recon), ("kl", kl), ("bpd", model.ToBitsPerDim(elbo)),
                ("beta", beta), ("lr", lr), ("sr", sr), ("grad_norm", result.GradNorm),
            };
            for (int l = 0; l < klGroups.Length; l++) row.Add(($"kl_g{l}", klGroups[l]));
            for (int l = 0; l < active.Length; l++) row.Add(($"au_g{l}", active[l]));
            Log.Add(step, row.ToArray());
        }
        Step++;
        return result.Loss;
    }

    /// <summary>
    /// Held-out evaluation in eval mode on the first <paramref name="limit"/> examples: negative ELBO (closed-form
    /// KL) and the importance-weighted bound with <paramref name="k"/> samples, both in bits/dim; logged as
    /// test_nelbo_bpd and test_iw{k}_bpd at the current step. Returns (nelbo, iw).
    /// </summary>
    public (double NelboBpd, double IwBpd) Evaluate(ImageDataset test, int limit = 1000, int k = 20, int batchSize = 100)
    {
        var (nelbo, iw) = EvaluateModel(model, test, limit, k, batchSize);
        Log.Add(Step, ("test_nelbo_bpd", nelbo), ($"test_iw{k}_bpd", iw));
        return (nelbo, iw);
    }

    /// <summary>
    /// Held-out KL per latent group in eval mode on the first <paramref name="limit"/> examples: the mean KL of each
    /// group (nats per example) and its active units, the variables whose mean KL exceeds <paramref name="threshold"/>
    /// nats (the training log's au_g criterion, over the test examples instead of one batch).
    /// </summary>
    public static (double[] Kl, int[] Active) KlStatistics(VaeModel model, ImageDataset test, int limit = 1000, double threshold = 0.1, int batchSize = 100)
    {
        var sums = model.GroupShapes.Select(g => zeros(new long[] { g.C, g.H, g.W }, dtype: ScalarType.Float64)).ToArray();
        try
        {
            long n = ForEachHeldOutBatch(model, test, limit, batchSize, images =>
            {
                var kl = model.call(images).Kl;
                for (int l = 0; l < kl.Length; l++) sums[l].add_(kl[l].sum(new long[] { 0 }).cpu().to(ScalarType.Float64));
            });
            if (n == 0) throw new ArgumentException($"{test.Name}: no examples to evaluate", nameof(test));
            using var scope = NewDisposeScope();
            var mean = sums.Select(s => s / n).ToArray();
            return (mean.Select(m => m.sum().item<double>()).ToArray(),
                    mean.Select(m => (int)(m > threshold).sum().item<long>()).ToArray());
        }
        finally
        {
            foreach (var s in sums) s.Dispose();
        }
    }

    /// <summary>The evaluation of <see cref="Evaluate"/> for any model, without logging.</summary>
    public static (double NelboBpd, double IwBpd) EvaluateModel(VaeModel model, ImageDataset test, int limit = 1000, int k = 20, int batchSize = 100, Action<int>? progress = null)
    {
        double nelbo = 0, iw = 0;
        long n = ForEachHeldOutBatch(model, test, limit, batchSize, images =>
        {
            nelbo += -model.call(images).Elbo().sum().item<float>();
            iw += -model.LogProb(images, k).sum().item<float>();
        }, progress);
        return (model.ToBitsPerDim(nelbo / n), model.ToBitsPerDim(iw / n));
    }

    /// <summary>
    /// Runs <paramref name="body"/> on each batch of the first <paramref name="limit"/> held-out images (uint8, on the
    /// model's device) in eval mode, without gradients, inside a dispose scope; puts the model back in train mode
    /// afterwards. Returns the number of examples seen.
    /// </summary>
    static long ForEachHeldOutBatch(VaeModel model, ImageDataset test, int limit, int batchSize, Action<Tensor> body, Action<int>? progress = null)
    {
        model.eval();
        long n = 0;
        try
        {
            var device = model.parameters().First().device;
            foreach (var batch in BatchLoader.Sequential(test, batchSize, device, limit))
            {
                using (NewDisposeScope())
                using (no_grad())
                    body(batch.Images);
                n += batch.Images.shape[0];
                batch.Images.Dispose(); batch.Labels?.Dispose(); batch.Factors?.Dispose();
                progress?.Invoke((int)n);
            }
        }
        finally { model.train(); }
        return n;
    }
}
