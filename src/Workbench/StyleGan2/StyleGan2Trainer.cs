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
/// β2 = 0.99) with the lazy-regularisation correction; the EMA of G after each generator update. Every step runs in
/// its own dispose scope; a non-finite loss throws <see cref="TrainingDivergedException"/> naming the step before
/// any parameter changes. Checkpoints hold G, D, G_ema, both optimizers, the images seen, the path-length mean, the
/// data position and the RNG state, so a resumed run continues exactly.
/// </summary>
public sealed class StyleGan2Trainer : Trainer
{
    private readonly Device _device;
    private readonly Ema _ema;

    /// <param name="g">the generator to train (its device is the trainer's).</param>
    /// <param name="d">the discriminator to train.</param>
    /// <param name="config">the model and training settings.</param>
    /// <param name="train">the training images of the trainer's own loader (null: pass every real batch to <see cref="TrainStepOn"/>).</param>
    /// <param name="test">unused by <see cref="Trainer.Run"/> (no held-out metric yet).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    /// <remarks>G_ema is built here like G (drawing from libtorch's global generator as building G does), then set to
    /// G's weights.</remarks>
    public StyleGan2Trainer(StyleGan2Generator g, StyleGan2Discriminator d, StyleGan2Config config,
        ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(CheckShape(config, train), test, config.BatchSize, seed, g.parameters().First().device)
    {
        Config = config;
        _device = g.parameters().First().device;
        G = g;
        D = d;
        GEma = new StyleGan2Generator(config);
        GEma.to(_device);
        _ema = new Ema(G, GEma);   // shadow parameters stop requiring gradients; buffers are copied
        _ema.CopyFromSource();
        GEma.eval();
        GOpt = LazyRegularization.Adam(G.parameters(), config.LearningRate, config.Beta1, config.Beta2, config.PathLengthInterval, config.AdamEpsilon);
        DOpt = LazyRegularization.Adam(D.parameters(), config.LearningRate, config.Beta1, config.Beta2, config.R1Interval, config.AdamEpsilon);
        PathLength = new PathLengthRegularizer(config.PathLengthWeight, config.PathLengthDecay, config.PathLengthDetachMean);
    }

    static ImageDataset? CheckShape(StyleGan2Config config, ImageDataset? data)
    {
        config.Validate();
        return data is not null && (data.Channels != config.ImageChannels || data.Height != config.Resolution || data.Width != config.Resolution)
            ? throw new ArgumentException(
                $"StyleGan2Trainer: dataset {data.Name} has images {data.Channels}x{data.Height}x{data.Width}, but the config wants " +
                $"{config.ImageChannels}x{config.Resolution}x{config.Resolution} (set StyleGan2Config.Resolution / ImageChannels).")
            : data;
    }

    public StyleGan2Config Config { get; }
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
        var z = randn(new long[] { batch, Config.ZDim }, device: _device);
        var ws = G.MapToW(z, updateWAvg: updateWAvg);
        if (Config.MixingProbability > 0)
        {
            // One draw for the decision and one for the crossover, from libtorch's generator (saved in checkpoints).
            var u = rand(2).data<float>().ToArray();
            if (u[0] < Config.MixingProbability)
            {
                int cutoff = 1 + (int)Math.Min(Math.Floor(u[1] * (G.NumWs - 1)), G.NumWs - 2);
                var ws2 = G.MapToW(randn(new long[] { batch, Config.ZDim }, device: _device));
                ws = StyleGan2Generator.MixStyles(ws, ws2, cutoff);
            }
        }
        return ws.MoveToOuterDisposeScope();
    }

    private static void SetRequiresGrad(nn.Module m, bool on)
    {
        foreach (var p in m.parameters()) p.requires_grad = on;
    }

    private double Finite(Tensor t, string metric)
    {
        double v = t.detach().ToDouble();
        if (!double.IsFinite(v)) throw new TrainingDivergedException(Step, metric, v);
        return v;
    }

    /// <summary>The learning rate of both optimizers (constant; the lazy regularisation scales it inside the optimizers).</summary>
    public override double LearningRateAt(long step) => Config.LearningRate;

    /// <summary>One iteration: G step (+ path length), EMA, D step (+ R1). Logs one row and returns it.</summary>
    /// <param name="images">uint8 reals [B, C, R, R] for the D step (null: the trainer's own next batch).</param>
    public override IReadOnlyDictionary<string, double> TrainStepOn(Tensor? images = null)
    {
        using var scope = NewDisposeScope();
        G.train(); D.train();
        int b = Config.BatchSize;

        // --- Generator: non-saturating loss on mixed-style fakes.
        SetRequiresGrad(D, false);
        GOpt.zero_grad();
        var fakeLogitsG = D.call(G.Synthesize(MixedWs(b, updateWAvg: true)));
        var lossG = NonSaturatingLoss.Generator(fakeLogitsG);
        double lossGValue = Finite(lossG, "generator loss");
        lossG.backward();
        GOpt.step();

        // --- Lazy path length regularisation (Section 3.2), weight × interval.
        double? plLength = null, plPenalty = null;
        if (Config.PathLengthInterval > 0 && Config.PathLengthWeight > 0 && Step % Config.PathLengthInterval == 0)
        {
            GOpt.zero_grad();
            long pb = Math.Max(1, b / Config.PathLengthBatchShrink);
            var ws = MixedWs(pb, updateWAvg: false);
            var img = G.Synthesize(ws);
            var (plLoss, meanLength, penalty) = PathLength.Compute(img, ws, Config.PathLengthInterval);
            Finite(plLoss, "path length penalty");
            plLoss.backward();
            GOpt.step();
            plLength = meanLength;
            plPenalty = penalty;
        }
        SetRequiresGrad(D, true);

        // --- EMA of the generator (half-life in images, optionally ramped up).
        double beta = Config.EmaRampup is double ramp
            ? Ema.BetaFromHalfLife(b, Config.EmaHalfLifeKimg * 1000, ImagesSeen, ramp)
            : Ema.BetaFromHalfLife(b, Config.EmaHalfLifeKimg * 1000);
        _ema.Update(beta);

        // --- Discriminator: non-saturating loss on reals and (fixed) fakes.
        var reals = Preprocess.ToSigned(NextBatch(images));
        Tensor fakes;
        using (no_grad()) fakes = G.Synthesize(MixedWs(b, updateWAvg: false));
        DOpt.zero_grad();
        var realLogits = D.call(reals);
        var fakeLogits = D.call(fakes);
        var lossD = NonSaturatingLoss.Discriminator(realLogits, fakeLogits);
        double lossDValue = Finite(lossD, "discriminator loss");
        lossD.backward();
        DOpt.step();

        // --- Lazy R1 on the reals (Section 3.1), γ/2 × interval.
        double? r1 = null;
        if (Config.R1Interval > 0 && Config.R1Gamma > 0 && Step % Config.R1Interval == 0)
        {
            DOpt.zero_grad();
            var (sq, _) = R1Regularizer.Penalty(D, reals);
            var r1Loss = R1Regularizer.Loss(sq, Config.R1Gamma, Config.R1Interval);
            Finite(r1Loss, "R1 penalty");
            r1Loss.backward();
            DOpt.step();
            r1 = sq.detach().mean().ToDouble();
        }

        ImagesSeen += b;
        Step++;
        var row = new List<(string Name, double Value)>
        {
            ("loss_g", lossGValue), ("loss_d", lossDValue),
            ("d_real", realLogits.detach().mean().ToDouble()), ("d_real_std", realLogits.detach().std().ToDouble()),
            ("d_fake", fakeLogits.detach().mean().ToDouble()), ("d_fake_std", fakeLogits.detach().std().ToDouble()), ("kimg", Kimg),
        };
        if (r1 is double r) row.Add(("r1", r));
        if (plLength is double pl) { row.Add(("pl_length", pl)); row.Add(("pl_mean", PathLength.Mean)); row.Add(("pl_penalty", plPenalty!.Value)); }
        Log.Add(Step, row.ToArray());
        return row.ToDictionary(m => m.Name, m => m.Value);
    }

    /// <summary>
    /// A GAN has no held-out likelihood: an empty result, nothing logged. Its samples are measured against held-out
    /// images in feature space by <see cref="Metrics.FeatureSpaceComparison"/> (<c>workbench eval --quality</c>).
    /// </summary>
    public override IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit = null) => new Dictionary<string, double>();

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
    protected override object CheckpointConfig => Config;

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
