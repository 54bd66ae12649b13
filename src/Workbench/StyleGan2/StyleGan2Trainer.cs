using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// Trains a StyleGAN2 (generator, discriminator and the generator's EMA) in the shape of every <see cref="Trainer"/>,
/// with the paper's schedule (Section 3.1, Appendix B): every iteration one generator step (non-saturating loss, style
/// mixing with the configured probability), every <c>PathLengthInterval</c>-th iteration an extra path-length step,
/// one discriminator step, and every <c>R1Interval</c>-th iteration an extra R1 step on the reals; Adam (β1 = 0,
/// β2 = 0.99) with the lazy-regularisation correction; the EMA of G after each generator update. Every phase runs
/// through <see cref="TrainStep.Run"/>: its own dispose scope, its gradient norm reported, and a non-finite loss throws
/// <see cref="TrainingDivergedException"/> naming the step before the phase's parameters change. Checkpoints hold G, D, G_ema, both optimizers, the images seen, the path-length mean, the
/// data position and the RNG state, so a resumed run continues exactly.
/// </summary>
public sealed class StyleGan2Trainer : Trainer
{
    private readonly Device _device;
    private readonly Ema _ema;
    private readonly List<Parameter> _gParams, _dParams;

    /// <param name="g">the generator to train (its device is the trainer's).</param>
    /// <param name="d">the discriminator to train.</param>
    /// <param name="config">the training settings (the networks' are <c>g.Config</c>).</param>
    /// <param name="train">the training images of the trainer's own loader (null: pass every real batch to <see cref="Trainer.TrainStepOn"/>).</param>
    /// <param name="test">held-out images (a GAN measures none in training; see <see cref="Measure"/>).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    /// <remarks>G_ema is built here like G (drawing from libtorch's global generator as building G does), then set to
    /// G's weights.</remarks>
    public StyleGan2Trainer(StyleGan2Generator g, StyleGan2Discriminator d, StyleGan2TrainConfig config,
        ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(CheckShape(g.Config, config, train), test, config.BatchSize, seed, g.parameters().First().device)
    {
        Config = config;
        _device = g.parameters().First().device;
        G = g;
        D = d;
        GEma = new StyleGan2Generator(g.Config);
        GEma.to(_device);
        _ema = new Ema(G, GEma);   // shadow parameters stop requiring gradients; buffers are copied
        _ema.CopyFromSource();
        GEma.eval();
        _gParams = G.parameters().ToList();
        _dParams = D.parameters().ToList();
        GOpt = LazyRegularization.Adam(G.parameters(), config.LearningRate, config.Beta1, config.Beta2, config.PathLengthInterval, config.AdamEpsilon);
        DOpt = LazyRegularization.Adam(D.parameters(), config.LearningRate, config.Beta1, config.Beta2, config.R1Interval, config.AdamEpsilon);
        PathLength = new PathLengthRegularizer(config.PathLengthWeight, config.PathLengthDecay, config.PathLengthDetachMean);
    }

    static ImageDataset? CheckShape(StyleGan2Config config, StyleGan2TrainConfig training, ImageDataset? data)
    {
        config.Validate();
        training.Validate();
        return data is not null && (data.Channels != config.ImageChannels || data.Height != config.Resolution || data.Width != config.Resolution)
            ? throw new ArgumentException(
                $"StyleGan2Trainer: dataset {data.Name} has images {data.Channels}x{data.Height}x{data.Width}, but the config wants " +
                $"{config.ImageChannels}x{config.Resolution}x{config.Resolution} (set StyleGan2Config.Resolution / ImageChannels).")
            : data;
    }

    public StyleGan2TrainConfig Config { get; }
    public StyleGan2Generator G { get; }
    public StyleGan2Discriminator D { get; }
    /// <summary>The exponential moving average of G: use it for samples and evaluation.</summary>
    public StyleGan2Generator GEma { get; }
    public Adam GOpt { get; }
    public Adam DOpt { get; }
    public PathLengthRegularizer PathLength { get; }

    /// <summary>Real images shown to D so far.</summary>
    public long ImagesSeen { get; private set; }

    public double Kimg => ImagesSeen / 1000.0;

    /// <summary>Per-layer ws for a batch, mixed with a second z at a random crossover with probability MixingProbability.</summary>
    private Tensor MixedWs(long batch, bool updateWAvg)
    {
        using var scope = NewDisposeScope();
        var z = randn(new long[] { batch, G.Config.ZDim }, device: _device);
        var ws = G.MapToW(z, updateWAvg: updateWAvg);
        if (Config.MixingProbability > 0)
        {
            // One draw for the decision and one for the crossover, from libtorch's generator (saved in checkpoints).
            var u = rand(2).data<float>().ToArray();
            if (u[0] < Config.MixingProbability)
            {
                int cutoff = 1 + (int)Math.Min(Math.Floor(u[1] * (G.NumWs - 1)), G.NumWs - 2);
                var ws2 = G.MapToW(randn(new long[] { batch, G.Config.ZDim }, device: _device));
                ws = StyleGan2Generator.MixStyles(ws, ws2, cutoff);
            }
        }
        return ws.MoveToOuterDisposeScope();
    }

    private static void SetRequiresGrad(nn.Module m, bool on)
    {
        foreach (var p in m.parameters()) p.requires_grad = on;
    }

    /// <summary>The learning rate of both optimizers (constant; the lazy regularisation scales it inside the optimizers).</summary>
    public override double LearningRateAt(long step) => Config.LearningRate;

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;

    /// <summary>
    /// One iteration, four phases through <see cref="TrainStep.Run"/>: G (non-saturating loss on mixed-style fakes, D
    /// frozen), every PathLengthInterval-th iteration path length (Section 3.2, weight × interval), the EMA of G, D
    /// (non-saturating loss on reals and fixed fakes), every R1Interval-th iteration R1 on the reals (Section 3.1, γ/2 ×
    /// interval). Reports loss_g, loss_d, the logits' means and deviations, kimg, the phases' gradient norms and, on
    /// their iterations, r1 and pl_length/pl_mean/pl_penalty.
    /// </summary>
    /// <param name="images">uint8 reals [B, C, R, R] for the D phase (null: the trainer's own next batch).</param>
    protected override void TakeStep(Tensor? images)
    {
        G.train(); D.train();
        int b = Config.BatchSize;

        SetRequiresGrad(D, false);
        var g = TrainStep.Run(GOpt, _gParams, () => NonSaturatingLoss.Generator(D.call(G.Synthesize(MixedWs(b, updateWAvg: true)))),
            Step, metric: "generator loss");
        Stats.Report("loss_g", g.Loss);
        Stats.Report("grad_norm_g", g.GradNorm);

        if (Config.PathLengthInterval > 0 && Config.PathLengthWeight > 0 && Step % Config.PathLengthInterval == 0)
        {
            double length = 0, penalty = 0;
            var pl = TrainStep.Run(GOpt, _gParams, () =>
            {
                var ws = MixedWs(Math.Max(1, b / Config.PathLengthBatchShrink), updateWAvg: false);
                var (loss, meanLength, plPenalty) = PathLength.Compute(G.Synthesize(ws), ws, Config.PathLengthInterval);
                (length, penalty) = (meanLength, plPenalty);
                return loss;
            }, Step, metric: "path length penalty");
            Stats.Report("pl_length", length);
            Stats.Report("pl_mean", PathLength.Mean);
            Stats.Report("pl_penalty", penalty);
            Stats.Report("grad_norm_pl", pl.GradNorm);
        }
        SetRequiresGrad(D, true);

        // the EMA of the generator (half-life in images, optionally ramped up)
        _ema.Update(Config.EmaRampup is double ramp
            ? Ema.BetaFromHalfLife(b, Config.EmaHalfLifeKimg * 1000, ImagesSeen, ramp)
            : Ema.BetaFromHalfLife(b, Config.EmaHalfLifeKimg * 1000));

        var reals = Preprocess.ToSigned(NextBatch(images));
        Tensor fakes;
        using (no_grad()) fakes = G.Synthesize(MixedWs(b, updateWAvg: false));
        var d = TrainStep.Run(DOpt, _dParams, () =>
        {
            var realLogits = D.call(reals);
            var fakeLogits = D.call(fakes);
            Stats.Report("d_real", realLogits.detach().mean().ToDouble());
            Stats.Report("d_real_std", realLogits.detach().std().ToDouble());
            Stats.Report("d_fake", fakeLogits.detach().mean().ToDouble());
            Stats.Report("d_fake_std", fakeLogits.detach().std().ToDouble());
            return NonSaturatingLoss.Discriminator(realLogits, fakeLogits);
        }, Step, metric: "discriminator loss");
        Stats.Report("loss_d", d.Loss);
        Stats.Report("grad_norm_d", d.GradNorm);

        if (Config.R1Interval > 0 && Config.R1Gamma > 0 && Step % Config.R1Interval == 0)
        {
            double r1 = 0;
            var r = TrainStep.Run(DOpt, _dParams, () =>
            {
                var (sq, _) = R1Regularizer.Penalty(D, reals);
                r1 = sq.detach().mean().ToDouble();
                return R1Regularizer.Loss(sq, Config.R1Gamma, Config.R1Interval);
            }, Step, metric: "R1 penalty");
            Stats.Report("r1", r1);
            Stats.Report("grad_norm_r1", r.GradNorm);
        }

        ImagesSeen += b;
        Stats.Report("kimg", Kimg);
    }

    /// <summary>
    /// A GAN has no held-out likelihood: nothing to measure here. Its samples are compared with held-out images in
    /// feature space by <see cref="Metrics.FeatureSpaceComparison"/> (<c>workbench eval --quality</c>).
    /// </summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit) => new Dictionary<string, double>();

    /// <summary>
    /// Images from the EMA generator for a fixed set of latents (seed <paramref name="seed"/>) and constant noise,
    /// as uint8 [n, C, R, R] on the CPU: the same faces at every call, so grids over training are comparable.
    /// </summary>
    public Tensor FixedSeedSamples(int n = 16, long seed = 1234, double psi = 1.0)
    {
        using var scope = NewDisposeScope();
        var img = GEma.Sample(n, psi, seed);
        return Preprocess.FromSigned(img).cpu().MoveToOuterDisposeScope();
    }

    // ---------------------------------------------------------------- checkpoints

    protected override IReadOnlyDictionary<string, nn.Module> Modules => new Dictionary<string, nn.Module> { ["G"] = G, ["D"] = D, ["G_ema"] = GEma };
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["G"] = GOpt, ["D"] = DOpt };
    protected override object CheckpointConfig => new RunConfig(G.Config, Config);

    /// <summary>The optimizers' restored state carries the learning rate they were saved with; this config's applies from here on.</summary>
    protected override void AfterLoad()
    {
        Schedules.SetLearningRate(GOpt, LazyRegularization.Corrected(Config.LearningRate, Config.Beta1, Config.Beta2, Config.PathLengthInterval).Lr);
        Schedules.SetLearningRate(DOpt, LazyRegularization.Corrected(Config.LearningRate, Config.Beta1, Config.Beta2, Config.R1Interval).Lr);
    }

    protected override IEnumerable<KeyValuePair<string, string>> SaveState()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        yield return new("images_seen", ImagesSeen.ToString(inv));
        yield return new("path_length_mean", PathLength.Mean.ToString("R", inv));
    }

    protected override void LoadState(Func<string, string> metadata)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        ImagesSeen = long.Parse(metadata("images_seen"), inv);
        PathLength.Mean = double.Parse(metadata("path_length_mean"), inv);
    }

    /// <summary>Disposes G_ema and the optimizers (G and D stay the caller's).</summary>
    public override void Dispose()
    {
        GEma.Dispose(); GOpt.Dispose(); DOpt.Dispose();
    }
}
