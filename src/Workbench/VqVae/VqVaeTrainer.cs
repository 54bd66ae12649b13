using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// Trains a <see cref="VqVae"/> and then its <see cref="CodePrior"/>s in one run, in the shape of every
/// <see cref="Trainer"/>. Stage 1 (the first <see cref="VqVaeTrainConfig.AutoencoderSteps"/> steps): Adam on Eq. 3 of
/// van den Oord et al. (2017) with images scaled to [−1, 1]; reports "loss", "recon_mse", "commitment" (before β),
/// "codebook_loss", "perplexity" and "codes_used" of the batch (with "_top" twins for VQ-VAE-2's top level),
/// "restarts" when dead-code restarts are on. Stage 2: the encoder is frozen (eval mode, no gradient) and the priors
/// are trained by maximum likelihood on its code maps (Section 3.3); reports "prior_bits" (bits per code).
/// <see cref="Trainer.Evaluate"/> measures held-out "test_mse" (on [−1, 1]), "test_perplexity" and "test_codes_used" over
/// all held-out codes, "test_decoder_bpd" (−log₂ p(x | z_q(x)) per dim), "test_bpd_uniform" (with the uniform prior's
/// N·log₂ K bits) and, once the prior has trained, "test_prior_bits" (per code) and "test_bpd" (the bound with the
/// prior; <see cref="VqVaeBound"/>).
/// </summary>
public sealed class VqVaeTrainer : Trainer
{
    readonly VqVae _model;
    readonly CodePriors _priors;
    readonly optim.Optimizer _optimizer;
    readonly optim.Optimizer _priorOptimizer;
    readonly List<Parameter> _params;
    readonly List<Parameter> _priorParams;

    /// <param name="model">the VQ-VAE to train (its device is the trainer's).</param>
    /// <param name="config">the training settings (null: the paper's).</param>
    /// <param name="train">the training set of the trainer's own loader (null: pass every batch to <see cref="Trainer.TrainStepOn"/>).</param>
    /// <param name="test">held-out data for the run's evaluations (null: none).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    public VqVaeTrainer(VqVae model, VqVaeTrainConfig? config = null, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(CheckShape(model, train), test, (config ?? new VqVaeTrainConfig()).BatchSize, seed, model.parameters().First().device)
    {
        _model = model;
        Config = config ?? new VqVaeTrainConfig();
        if (Config.PriorFraction is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(config), Config.PriorFraction, "VqVaeTrainConfig.PriorFraction must be in [0, 1]");
        var p0 = model.parameters().First();
        _priors = new CodePriors(model);
        _priors.to(p0.device).to(p0.dtype);
        _params = model.parameters().Where(p => p.requires_grad).ToList();
        _priorParams = _priors.parameters().ToList();
        _optimizer = optim.Adam(_params, Config.LearningRate);
        _priorOptimizer = optim.Adam(_priorParams, Config.PriorLearningRate);
    }

    static ImageDataset? CheckShape(VqVae model, ImageDataset? train) =>
        train is not null && (train.Channels != model.Config.ImageChannels || train.Height != model.Config.ImageSize || train.Width != model.Config.ImageSize)
            ? throw new ArgumentException($"VqVaeTrainer: {train.Name} images are {train.Channels}x{train.Height}x{train.Width}, the model expects " +
                                          $"{model.Config.ImageChannels}x{model.Config.ImageSize}x{model.Config.ImageSize}")
            : train;

    public VqVaeTrainConfig Config { get; }

    /// <summary>The VQ-VAE being trained.</summary>
    public VqVae Model => _model;

    /// <summary>The code priors, top level first.</summary>
    public IReadOnlyList<CodePrior> Priors => _priors.Levels;

    /// <summary>The priors as one module (what checkpoints hold as "prior").</summary>
    public CodePriors PriorModule => _priors;

    /// <summary>True once the run is in stage 2 (the prior).</summary>
    public bool InPriorStage => Step >= Config.AutoencoderSteps();

    /// <summary>The constant rate of the stage the step belongs to.</summary>
    public override double LearningRateAt(long step) => step < Config.AutoencoderSteps() ? Config.LearningRate : Config.PriorLearningRate;

    protected override void TakeStep(Tensor? images)
    {
        if (InPriorStage) PriorStep(images);
        else AutoencoderStep(images);
    }

    void AutoencoderStep(Tensor? images)
    {
        _model.train();
        double recon = 0, commitment = 0, codebookLoss = 0;
        (double Perplexity, long Used)[] levels = [];
        var result = ScheduledStep(_optimizer, _params, () =>
        {
            var x = Preprocess.ToSigned(NextBatch(images)).to(_params[0].dtype);
            var output = _model.call(x);
            recon = output.ReconstructionLoss.item<float>();
            commitment = output.CommitmentLoss.item<float>();
            codebookLoss = output.CodebookLoss.item<float>();
            levels = output.Levels.Select(l => (l.Perplexity, l.CodesUsed)).ToArray();
            return output.Loss;
        }, Config.MaxGradNorm, divergeAbove: Config.DivergenceLoss);
        Stats.Report("loss", result.Loss);
        Stats.Report("recon_mse", recon);
        Stats.Report("commitment", commitment);
        Stats.Report("codebook_loss", codebookLoss);
        for (int l = 0; l < levels.Length; l++)
        {
            string suffix = levels.Length == 2 && l == 0 ? "_top" : "";
            Stats.Report("perplexity" + suffix, levels[l].Perplexity);
            Stats.Report("codes_used" + suffix, levels[l].Used);
        }
        if (_model.Config.DeadCodeRestart) Stats.Report("restarts", _model.Quantizers.Sum(q => q.LastRestarts));
    }

    void PriorStep(Tensor? images)
    {
        _model.eval();
        _priors.train();
        long positions = _model.CodePositions;
        var result = ScheduledStep(_priorOptimizer, _priorParams, () =>
        {
            var x = Preprocess.ToSigned(NextBatch(images)).to(_params[0].dtype);
            var codes = _model.Encode(x);
            Tensor nats = VqVaePriorLoss(codes);
            return nats.mean() / positions;   // nats per code
        }, Config.MaxGradNorm, divergeAbove: Config.DivergenceLoss, metric: "prior nats per code");
        Stats.Report("prior_bits", result.Loss / Math.Log(2));
    }

    /// <summary>−log p(z) [B] in nats of code maps under the priors, with gradients to the priors.</summary>
    Tensor VqVaePriorLoss(IReadOnlyList<Tensor> codes)
    {
        Tensor? total = null;
        for (int l = 0; l < codes.Count; l++)
        {
            var nats = -_priors.Levels[l].LogProb(codes[l], _model.PriorCondition(l, codes.Take(l).ToList()));
            total = total is null ? nats : total + nats;
        }
        return total!;
    }

    /// <summary>Held-out reconstruction, codebook usage and bounds (see the class summary) on the first
    /// <paramref name="limit"/> examples.</summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit)
    {
        bool priorTrained = Step > Config.AutoencoderSteps();
        var m = Evaluate(_model, priorTrained ? Priors : null, test, limit, Config.EvalBatchSize);
        var result = new Dictionary<string, double>
        {
            ["test_mse"] = m.Mse,
            ["test_perplexity"] = m.Perplexity[^1],
            ["test_codes_used"] = m.CodesUsed[^1],
        };
        if (m.Perplexity.Length == 2)
        {
            result["test_perplexity_top"] = m.Perplexity[0];
            result["test_codes_used_top"] = m.CodesUsed[0];
        }
        result["test_decoder_bpd"] = m.DecoderBpd;
        result["test_bpd_uniform"] = m.UniformBpd;
        if (m.PriorBitsPerCode is double bits)
        {
            result["test_prior_bits"] = bits;
            result["test_bpd"] = m.Bpd!.Value;
        }
        return result;
    }

    /// <summary>Held-out metrics of a VQ-VAE (and its priors, when given).</summary>
    public sealed record Metrics(long Examples, double Mse, double[] Perplexity, double[] CodesUsed, double DecoderBpd,
        double UniformBpd, double? PriorBitsPerCode, double? Bpd);

    /// <summary>
    /// Mean squared error on [−1, 1], perplexity and distinct codes of each level over all held-out code positions,
    /// the decoder's bits/dim, the bound with the uniform prior and, with <paramref name="priors"/>, the priors' bits per
    /// code and the bound with them; eval mode, no gradients, batched.
    /// </summary>
    public static Metrics Evaluate(VqVae model, IReadOnlyList<CodePrior>? priors, ImageDataset data, long? limit = null, int batchSize = 250)
    {
        var p = model.parameters().First();
        int levels = model.Config.Levels, k = model.Config.Codes;
        var counts = Enumerable.Range(0, levels).Select(_ => new double[k]).ToArray();
        double sse = 0, decoderNats = 0, priorNats = 0;
        long n = 0;
        var wasTraining = priors?.Select(q => q.training).ToArray();
        priors?.ToList().ForEach(q => q.eval());
        try
        {
            using var _ = no_grad();
            using var outer = NewDisposeScope();
            foreach (var batch in BatchLoader.Sequential(data, batchSize, p.device, limit))
            {
                using var scope = NewDisposeScope();
                var x = Preprocess.ToSigned(batch.Images).to(p.dtype);
                var (nats, codes, mean) = VqVaeBound.Decoder(model, x);
                sse += (mean - x).pow(2).sum().item<float>();
                decoderNats += nats.sum().item<float>();
                for (int l = 0; l < levels; l++)
                {
                    var c = bincount(codes[l].reshape(-1), minlength: k).to(ScalarType.Float64).cpu().data<double>().ToArray();
                    for (int j = 0; j < k; j++) counts[l][j] += c[j];
                }
                if (priors is not null) priorNats += VqVaeBound.PriorNats(model, priors, codes).sum().item<float>();
                n += x.shape[0];
            }
        }
        finally
        {
            if (priors is not null) for (int i = 0; i < priors.Count; i++) priors[i].train(wasTraining![i]);
        }
        if (n == 0) throw new ArgumentException($"{data.Name}: no examples to evaluate", nameof(data));
        long dims = model.Dimensions;
        double Perplexity(double[] c)
        {
            double total = c.Sum(), h = 0;
            foreach (var v in c) if (v > 0) h -= v / total * Math.Log(v / total);
            return Math.Exp(h);
        }
        double decoderBpd = VqVaeBound.BitsPerDim(decoderNats / n, dims);
        double uniformBpd = VqVaeBound.BitsPerDim(decoderNats / n + VqVaeBound.UniformPriorNats(model), dims);
        double? priorBits = priors is null ? null : priorNats / n / model.CodePositions / Math.Log(2);
        double? bpd = priors is null ? null : VqVaeBound.BitsPerDim((decoderNats + priorNats) / n, dims);
        return new Metrics(n, sse / (n * dims), counts.Select(Perplexity).ToArray(), counts.Select(c => (double)c.Count(v => v > 0)).ToArray(),
            decoderBpd, uniformBpd, priorBits, bpd);
    }

    /// <summary>n images as uint8 [n, C, H, W] (on the CPU): code maps drawn from the priors, decoded to the decoder's mean.</summary>
    public Tensor SampleImages(int n, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var (images, _) = _model.Generate(Priors, n, temperature);
        return Preprocess.FromSigned(images).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Reconstructions as uint8 [B, C, H, W] (on the CPU) of uint8 images: encode, quantise, decode the mean.</summary>
    public Tensor Reconstruct(Tensor images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var p = _model.parameters().First();
        var codes = _model.Encode(Preprocess.ToSigned(images.to(p.device)).to(p.dtype));
        return Preprocess.FromSigned(EvalMode.Run(_model, () => _model.Decode(codes))).cpu().MoveToOuterDisposeScope();
    }

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;
    protected override long EvalEvery => Config.EvalEvery;
    protected override long? EvalLimit => Config.EvalLimit;

    protected override IReadOnlyDictionary<string, nn.Module> Modules =>
        new Dictionary<string, nn.Module> { ["model"] = _model, ["prior"] = _priors };
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers =>
        new Dictionary<string, optim.Optimizer> { ["optimizer"] = _optimizer, ["prior_optimizer"] = _priorOptimizer };
    protected override object CheckpointConfig => new RunConfig(_model.Config, Config);

    /// <summary>Disposes the optimizers and the priors (the model stays the caller's).</summary>
    public override void Dispose() { _optimizer.Dispose(); _priorOptimizer.Dispose(); _priors.Dispose(); }
}
