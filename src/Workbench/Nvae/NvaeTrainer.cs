using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// Trains a <see cref="VaeModel"/> (plain VAE or NVAE), in the shape of every <see cref="Trainer"/>: loss per
/// example = −log p(x|z) + β·Σ_l γ_l·KL_l (warm-up β, balancing γ; <see cref="KlBalancer"/>), averaged over the batch,
/// plus λ·Σ_i s_i (spectral regularisation). Adamax with linear LR warm-up then cosine decay
/// (<see cref="Schedules.WarmupCosine"/>), gradient clipping, every step inside a dispose scope
/// (<see cref="TrainStep.Run"/>), which stops with the step number on a NaN/∞ loss or gradient.
/// Every LogEvery steps logs: loss, beta, lr, sr (Σ s_i) and grad_norm (means over the interval), and recon (nats), kl
/// (nats, unweighted), bpd (train −ELBO), kl_g{l} (nats per group) and au_g{l} (active units per group) of the row's
/// last batch; <see cref="Trainer.Evaluate"/> adds test metrics.
/// </summary>
public sealed class NvaeTrainer : Trainer
{
    readonly VaeModel model;
    readonly optim.Optimizer optimizer;
    readonly Parameter[] parameters;
    readonly Tensor alpha;

    /// <param name="model">the VAE to train (its device is the trainer's).</param>
    /// <param name="config">the training settings (null: the defaults).</param>
    /// <param name="train">the training set of the trainer's own loader (null: pass every batch to <see cref="Trainer.TrainStepOn"/>).</param>
    /// <param name="test">held-out data for <see cref="Trainer.Run(RunOptions, CancellationToken)"/>'s evaluation at the end (null: none).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    public NvaeTrainer(VaeModel model, NvaeTrainConfig? config = null, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(train, test, (config ?? new NvaeTrainConfig()).BatchSize, seed, model.parameters().First().device)
    {
        this.model = model;
        Config = config ?? new NvaeTrainConfig();
        parameters = model.parameters().ToArray();
        optimizer = optim.Adamax(parameters, lr: Config.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-3, weight_decay: Config.WeightDecay);
        alpha = tensor(model.BalanceAlpha.Select(a => (float)a).ToArray());
    }

    public NvaeTrainConfig Config { get; }

    /// <summary>The VAE being trained.</summary>
    public VaeModel Model => model;

    /// <summary>Linear warm-up then cosine decay to the minimum at <see cref="NvaeTrainConfig.Steps"/>.</summary>
    public override double LearningRateAt(long step) =>
        Schedules.WarmupCosine(step, Config.LearningRate, Config.WarmupSteps, Config.Steps, Config.MinLearningRate);

    /// <summary>β at a step (<see cref="KlBalancer.WarmupCoefficient"/>).</summary>
    public double BetaAt(long step) => KlBalancer.WarmupCoefficient(step,
        (long)(Config.KlAnnealFraction * Config.Steps), (long)(Config.KlConstFraction * Config.Steps), Config.KlMinCoefficient);

    /// <summary>λ at a given β: log-linear from λ_init (β = 0) to λ (β = 1), as NVAE's code anneals its norm weight.</summary>
    public double SpectralLambdaAt(double beta) => Config.SpectralLambdaInit is double init && Config.SpectralLambda > 0
        ? Math.Exp((1 - beta) * Math.Log(init) + beta * Math.Log(Config.SpectralLambda))
        : Config.SpectralLambda;

    /// <summary>One optimizer step; reports loss, beta, lr, sr and grad_norm every step, and on the steps that end with a
    /// log row also recon, kl, bpd, kl_g{l} and au_g{l} (measured on the step's batch).</summary>
    protected override void TakeStep(Tensor? images)
    {
        double beta = BetaAt(Step), lambda = SpectralLambdaAt(beta);
        bool logNow = LogsThisStep;
        model.train();
        var result = ScheduledStep(optimizer, parameters, () =>
        {
            var o = model.call(NextBatch(images));
            var klG = o.KlPerGroup();
            var (klBal, _) = KlBalancer.Balance(klG, beta, Config.KlBalance, alpha);
            var nll = -o.LogPx;
            var loss = (nll + klBal).mean();
            if (lambda > 0)
            {
                var s = model.Spectral.SumOfSigmas(Config.PowerIterations);
                Stats.Report("sr", s.item<float>());
                loss = loss + lambda * s;
                if (model.PenalizesBatchNormScale) loss = loss + lambda * model.BatchNormScalePenalty();
            }
            if (logNow)
            {
                double recon = nll.mean().item<float>();
                var klGroups = klG.mean(new long[] { 0 }).data<float>().Select(v => (double)v).ToArray();
                Stats.Report("recon", recon);
                Stats.Report("kl", klGroups.Sum());
                Stats.Report("bpd", model.ToBitsPerDim(recon + klGroups.Sum()));
                for (int l = 0; l < klGroups.Length; l++) Stats.Report($"kl_g{l}", klGroups[l]);
                for (int l = 0; l < o.Kl.Length; l++)
                    Stats.Report($"au_g{l}", (o.Kl[l].mean(new long[] { 0 }) > Config.ActiveUnitThreshold).sum().item<long>());
            }
            return loss;
        }, Config.MaxGradNorm);
        Stats.Report("loss", result.Loss);
        Stats.Report("beta", beta);
    }

    /// <summary>
    /// Held-out metrics on the first <paramref name="limit"/> examples (null: all): the negative ELBO (closed-form KL)
    /// and the importance-weighted bound with <see cref="NvaeTrainConfig.IwSamples"/> samples, both in bits/dim
    /// (test_bpd_elbo, test_bpd_iw, iw_samples), and the KL and active units of each group (test_kl_g{l}, test_au_g{l};
    /// <see cref="KlStatistics"/>).
    /// </summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit)
    {
        int n = (int)Math.Min(limit ?? test.Count, test.Count);
        var (nelbo, iw) = EvaluateModel(model, test, n, Config.IwSamples);
        var result = new Dictionary<string, double> { ["test_bpd_elbo"] = nelbo, ["test_bpd_iw"] = iw, ["iw_samples"] = Config.IwSamples };
        var (kl, active) = KlStatistics(model, test, n, Config.ActiveUnitThreshold);
        for (int l = 0; l < kl.Length; l++) { result[$"test_kl_g{l}"] = kl[l]; result[$"test_au_g{l}"] = active[l]; }
        return result;
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

    /// <summary>Negative ELBO and the <paramref name="k"/>-sample importance-weighted bound (bits/dim) of any model on the
    /// first <paramref name="limit"/> held-out examples, in eval mode, without logging.</summary>
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
    /// model's device) in eval mode, without gradients, inside a dispose scope; the model returns to the mode it was in
    /// (<see cref="EvalMode"/>). Returns the number of examples seen.
    /// </summary>
    static long ForEachHeldOutBatch(VaeModel model, ImageDataset test, int limit, int batchSize, Action<Tensor> body, Action<int>? progress = null) =>
        EvalMode.Run(model, () =>
        {
            long n = 0;
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
            return n;
        });

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;

    protected override IReadOnlyDictionary<string, nn.Module> Modules => new Dictionary<string, nn.Module> { ["model"] = model };
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["optimizer"] = optimizer };
    protected override object CheckpointConfig => new RunConfig(model switch
    {
        Nvae n => n.Config,
        Vae v => v.Config,
        _ => throw new NotSupportedException($"NvaeTrainer: no config record for a {model.GetType().Name}"),
    }, Config);

    /// <summary>Disposes the optimizer (the model stays the caller's).</summary>
    public override void Dispose() { optimizer.Dispose(); alpha.Dispose(); }
}
