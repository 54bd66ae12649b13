using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// Trains a <see cref="GanGenerator"/> against a <see cref="GanDiscriminator"/> in the shape of every <see cref="Trainer"/>
/// (Goodfellow et al. 2014, Algorithm 1; WGAN and WGAN-GP, Algorithm 1): each step takes <see cref="GanTrainConfig.NCritic"/>
/// discriminator updates, each on a fresh real batch and fakes from fresh z (optionally with the gradient penalty and
/// followed by weight clipping), then one generator update with D frozen, all through <see cref="TrainStep.Run"/> (a
/// non-finite loss throws <see cref="TrainingDivergedException"/> before the parameters change). The reals are images
/// (uint8, scaled to [−1, 1]) from the trainer's own loader or passed to <see cref="Trainer.TrainStepOn"/> (then every
/// D update of the step sees that batch), or points of a 2-D toy drawn from libtorch's generator. A conditional GAN
/// draws its fakes at the real batch's labels. Reports per step: loss_d, d_real, d_fake (the means of D's scores),
/// grad_norm_d (the means over the step's D updates), loss_g, grad_norm_g; with the Wasserstein loss "wasserstein"
/// (E D(x) − E D(G(z)), the critic's estimate); with a penalty "gp" and "grad_norm_xhat"; on a <see cref="GaussianMixtureToy"/>
/// every EvalEvery steps "modes" and "high_quality" of 2,500 samples from a fixed z (<see cref="ModeCoverage"/>).
/// </summary>
public sealed class GanTrainer : Trainer
{
    readonly Device _device;
    readonly BatchLoader? _loader;
    readonly long _seed;
    readonly Toy2D? _toy;
    readonly List<Parameter> _gParams, _dParams;
    Tensor? _pendingLabels;

    /// <summary>A GAN on images: <paramref name="train"/> feeds the trainer's own loader (shuffled with
    /// <paramref name="seed"/>; null: pass every real batch to <see cref="Trainer.TrainStepOn"/>).</summary>
    public GanTrainer(GanGenerator g, GanDiscriminator d, GanTrainConfig config, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : this(g, d, config, train, test, seed, null) { }

    /// <summary>A GAN on a 2-D toy (the MLP architecture with DataDim 2): every D update draws a batch of the toy's points.</summary>
    public GanTrainer(GanGenerator g, GanDiscriminator d, GanTrainConfig config, Toy2D toy)
        : this(g, d, config, null, null, 0, toy ?? throw new ArgumentNullException(nameof(toy))) { }

    GanTrainer(GanGenerator g, GanDiscriminator d, GanTrainConfig config, ImageDataset? train, ImageDataset? test, long seed, Toy2D? toy)
        : base(null, test, config.BatchSize, seed, g.parameters().First().device)
    {
        config.Validate();
        Check(g, d, config, train, toy);
        Config = config;
        G = g;
        D = d;
        _device = g.parameters().First().device;
        _seed = seed;
        _toy = toy;
        if (train is not null) _loader = new BatchLoader(train, config.BatchSize, shuffle: true, seed: seed, device: _device);
        _gParams = G.parameters().ToList();
        _dParams = D.parameters().ToList();
        (GOpt, DOpt) = config.Optimizer switch
        {
            GanOptimizer.Adam => ((optim.Optimizer)optim.Adam(_gParams, config.LearningRate, config.Beta1, config.Beta2),
                (optim.Optimizer)optim.Adam(_dParams, config.DLearningRate, config.Beta1, config.Beta2)),
            GanOptimizer.RmsProp => (optim.RMSProp(_gParams, config.LearningRate, config.RmsPropAlpha),
                optim.RMSProp(_dParams, config.DLearningRate, config.RmsPropAlpha)),
            _ => throw new ArgumentOutOfRangeException(nameof(config), config.Optimizer, "unknown optimizer"),
        };
    }

    static void Check(GanGenerator g, GanDiscriminator d, GanTrainConfig config, ImageDataset? train, Toy2D? toy)
    {
        var c = g.Config;
        if (c != d.Config) throw new ArgumentException("GanTrainer: G and D were built from different GanConfigs");
        if (config.GradientPenalty > 0 && c.Architecture == GanArchitecture.Dcgan && c.DiscriminatorBatchNorm)
            throw new ArgumentException("GanTrainer: the gradient penalty is per example and batch norm couples D's examples; set GanConfig.DiscriminatorBatchNorm = false (WGAN-GP's critic has no batch norm)");
        if (toy is not null && (c.Architecture != GanArchitecture.Mlp || c.DataDim != 2))
            throw new ArgumentException($"GanTrainer: a 2-D toy needs the Mlp architecture with DataDim 2, got {c.Architecture} with DataDim {c.DataDim}");
        if (toy is not null && c.Classes > 0)
            throw new ArgumentException("GanTrainer: the 2-D toys carry no labels; set GanConfig.Classes = 0");
        if (train is not null)
        {
            if (c.Architecture != GanArchitecture.Dcgan)
                throw new ArgumentException("GanTrainer: images need the Dcgan architecture (GanConfig.Architecture)");
            if (train.Channels != c.ImageChannels || train.Height != c.Resolution || train.Width != c.Resolution)
                throw new ArgumentException($"GanTrainer: dataset {train.Name} has images {train.Channels}x{train.Height}x{train.Width}, but the config wants " +
                    $"{c.ImageChannels}x{c.Resolution}x{c.Resolution} (set GanConfig.Resolution / ImageChannels)");
            if (c.Classes > 0 && train.Labels is null)
                throw new ArgumentException($"GanTrainer: a conditional GAN needs labels and {train.Name} has none");
        }
    }

    public GanTrainConfig Config { get; }
    public GanGenerator G { get; }
    public GanDiscriminator D { get; }
    public optim.Optimizer GOpt { get; }
    public optim.Optimizer DOpt { get; }

    /// <summary>Discriminator updates taken so far (NCritic per step).</summary>
    public long DiscriminatorSteps { get; private set; }

    /// <summary>The generator's learning rate (constant).</summary>
    public override double LearningRateAt(long step) => Config.LearningRate;

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;

    /// <summary>One step on a labelled image batch (uint8 [B, C, H, W], int64 [B]) for a conditional GAN without its own loader.</summary>
    public IReadOnlyDictionary<string, double> TrainStepOn(Tensor images, Tensor labels)
    {
        _pendingLabels = labels;
        try { return TrainStepOn(images); }
        finally { _pendingLabels = null; }
    }

    (Tensor X, Tensor? Labels) RealBatch(Tensor? images)
    {
        if (_toy is not null) return (_toy.Sample(Config.BatchSize).to(_device), null);
        if (images is not null)
        {
            if (G.Config.Classes > 0 && _pendingLabels is null)
                throw new ArgumentException("GanTrainer: a conditional GAN needs the batch's labels: call TrainStepOn(images, labels)");
            return (Preprocess.ToSigned(images.to(_device)), _pendingLabels?.to(_device));
        }
        if (_loader is null) throw new InvalidOperationException("GanTrainer was built without a training set: pass the batch");
        var batch = _loader.Next();
        return (Preprocess.ToSigned(batch.Images), G.Config.Classes > 0 ? batch.Labels : null);
    }

    static void SetRequiresGrad(nn.Module m, bool on)
    {
        foreach (var p in m.parameters()) p.requires_grad = on;
    }

    protected override void TakeStep(Tensor? images)
    {
        G.train(); D.train();
        var loss = G.Config.Loss;
        double lossD = 0, real = 0, fake = 0, gradD = 0, gp = 0, xhatNorm = 0;
        for (int k = 0; k < Config.NCritic; k++)
        {
            using var scope = NewDisposeScope();
            var (x, labels) = RealBatch(images);
            Tensor fakes;
            using (no_grad()) fakes = G.Sample((int)x.shape[0], labels);
            double r = 0, f = 0, p = 0, norm = 0;
            var d = TrainStep.Run(DOpt, _dParams, () =>
            {
                var realScores = D.Score(x, labels);
                var fakeScores = D.Score(fakes, labels);
                r = realScores.detach().mean().ToDouble();
                f = fakeScores.detach().mean().ToDouble();
                var l = AdversarialLoss.Discriminator(loss, realScores, fakeScores);
                if (Config.GradientPenalty > 0)
                {
                    var (penalty, norms) = GradientPenalty.Compute(D, x, fakes, Config.GradientPenalty, labels);
                    p = penalty.detach().ToDouble();
                    norm = norms.detach().mean().ToDouble();
                    l = l + penalty;
                }
                return l;
            }, Step, metric: "discriminator loss");
            if (Config.WeightClip is double c) WeightClipping.Apply(D, c);
            DiscriminatorSteps++;
            lossD += d.Loss; real += r; fake += f; gradD += d.GradNorm; gp += p; xhatNorm += norm;
        }
        int n = Config.NCritic;
        Stats.Report("loss_d", lossD / n);
        Stats.Report("d_real", real / n);
        Stats.Report("d_fake", fake / n);
        if (loss == GanLoss.Wasserstein) Stats.Report("wasserstein", (real - fake) / n);
        if (Config.GradientPenalty > 0)
        {
            Stats.Report("gp", gp / n);
            Stats.Report("grad_norm_xhat", xhatNorm / n);
        }
        Stats.Report("grad_norm_d", gradD / n);

        SetRequiresGrad(D, false);
        try
        {
            var labelsG = G.Config.Classes > 0 ? RandomLabels(Config.BatchSize) : null;
            var g = TrainStep.Run(GOpt, _gParams, () =>
                AdversarialLoss.Generator(loss, D.Score(G.Sample(Config.BatchSize, labelsG), labelsG)), Step, metric: "generator loss");
            Stats.Report("loss_g", g.Loss);
            Stats.Report("grad_norm_g", g.GradNorm);
        }
        finally { SetRequiresGrad(D, true); }

        if (_toy is GaussianMixtureToy mixture && Config.EvalEvery > 0 && (Step + 1) % Config.EvalEvery == 0)
        {
            var report = Modes(mixture);
            Stats.Report("modes", report.Covered);
            Stats.Report("high_quality", report.HighQuality);
        }
    }

    /// <summary>Uniform labels [n] from libtorch's generator.</summary>
    Tensor RandomLabels(int n) => randint(0, G.Config.Classes, new long[] { n }, device: _device);

    /// <summary>
    /// <see cref="ModeCoverage"/> of <paramref name="n"/> samples from z drawn with a generator seeded by
    /// <paramref name="seed"/> (libtorch's global generator is not touched), G in eval mode.
    /// </summary>
    public ModeReport Modes(GaussianMixtureToy toy, int n = 2500, long seed = 1234) => EvalMode.Run(G, () =>
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var gen = new Generator(unchecked((ulong)seed));
        return ModeCoverage.Measure(G.Sample(n, generator: gen), toy);
    });

    /// <summary>A GAN has no held-out likelihood: nothing to measure here; samples are compared with held-out images
    /// in feature space (<c>workbench eval --quality</c>) and toys by <see cref="Modes"/>.</summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit) => new Dictionary<string, double>();

    // ---------------------------------------------------------------- checkpoints

    protected override IReadOnlyDictionary<string, nn.Module> Modules => new Dictionary<string, nn.Module> { ["G"] = G, ["D"] = D };
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["G"] = GOpt, ["D"] = DOpt };
    protected override object CheckpointConfig => new RunConfig(G.Config, Config);

    /// <summary>The optimizers' restored state carries the learning rates they were saved with; this config's apply from here on.</summary>
    protected override void AfterLoad()
    {
        Schedules.SetLearningRate(GOpt, Config.LearningRate);
        Schedules.SetLearningRate(DOpt, Config.DLearningRate);
    }

    protected override IEnumerable<KeyValuePair<string, string>> SaveState()
    {
        var inv = CultureInfo.InvariantCulture;
        yield return new("discriminator_steps", DiscriminatorSteps.ToString(inv));
        if (_loader is not null)
        {
            yield return new("loader_position", _loader.Position.ToString(inv));
            yield return new("loader_seed", _seed.ToString(inv));
        }
    }

    protected override void LoadState(Func<string, string> metadata)
    {
        var inv = CultureInfo.InvariantCulture;
        DiscriminatorSteps = long.Parse(metadata("discriminator_steps"), inv);
        if (_loader is not null)
        {
            long seed = long.Parse(metadata("loader_seed"), inv);
            if (seed != _seed) throw new CheckpointMismatchException($"the checkpoint's data order was shuffled with seed {seed}, this trainer's with {_seed}");
            _loader.Position = long.Parse(metadata("loader_position"), inv);
        }
    }

    /// <summary>Disposes the optimizers (G and D stay the caller's).</summary>
    public override void Dispose()
    {
        GOpt.Dispose(); DOpt.Dispose();
    }
}
