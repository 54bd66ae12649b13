using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>What one training iteration reports (regulariser values are null on iterations that skip them).</summary>
public sealed record StyleGan2StepStats(long Step, double LossG, double LossD, double DRealMean, double DRealStd,
    double DFakeMean, double DFakeStd, double? R1, double? PathLength, double? PathPenalty);

/// <summary>
/// Trains a StyleGAN2 (generator, discriminator and the generator's EMA) on an <see cref="ImageDataset"/> with the
/// paper's schedule (Section 3.1, Appendix B): every iteration one generator step (non-saturating loss, style mixing
/// with the configured probability), every <c>PathLengthInterval</c>-th iteration an extra path-length step, one
/// discriminator step, and every <c>R1Interval</c>-th iteration an extra R1 step on the reals; Adam (β1 = 0,
/// β2 = 0.99) with the lazy-regularisation correction; the EMA of G after each generator update. Every step runs in
/// its own dispose scope; a non-finite loss throws <see cref="TrainingDivergedException"/> naming the step before
/// any parameter changes. <see cref="Save"/>/<see cref="Load"/> hold G, D, G_ema, both optimizers, the path-length
/// mean, the data position and the RNG state, so a resumed run continues exactly.
/// </summary>
public sealed class StyleGan2Trainer : IDisposable
{
    private readonly BatchLoader? _loader;
    private readonly Device _device;
    private readonly Ema _ema;

    /// <param name="config">the model and training settings.</param>
    /// <param name="seed">seeds the weights, latents and data order.</param>
    /// <param name="device">where the networks live (default: <see cref="Devices.Default"/>).</param>
    /// <param name="data">the training images; null when the caller passes every real batch to <see cref="TrainStep"/>
    /// (the command line does, with its own resumable loader).</param>
    public StyleGan2Trainer(StyleGan2Config config, ImageDataset? data, long seed = 0, Device? device = null)
    {
        config.Validate();
        if (data is not null && (data.Channels != config.ImageChannels || data.Height != config.Resolution || data.Width != config.Resolution))
            throw new ArgumentException(
                $"StyleGan2Trainer: dataset {data.Name} has images {data.Channels}x{data.Height}x{data.Width}, but the config wants " +
                $"{config.ImageChannels}x{config.Resolution}x{config.Resolution} (set StyleGan2Config.Resolution / ImageChannels).");
        Config = config;
        Seed = seed;
        _device = device ?? Devices.Default;
        Seeding.Set(seed);
        G = new StyleGan2Generator(config);
        D = new StyleGan2Discriminator(config);
        GEma = new StyleGan2Generator(config);
        G.to(_device); D.to(_device); GEma.to(_device);
        _ema = new Ema(G, GEma);   // shadow parameters stop requiring gradients; buffers are copied
        _ema.CopyFromSource();
        GEma.eval();
        GOpt = LazyRegularization.Adam(G.parameters(), config.LearningRate, config.Beta1, config.Beta2, config.PathLengthInterval, config.AdamEpsilon);
        DOpt = LazyRegularization.Adam(D.parameters(), config.LearningRate, config.Beta1, config.Beta2, config.R1Interval, config.AdamEpsilon);
        PathLength = new PathLengthRegularizer(config.PathLengthWeight, config.PathLengthDecay);
        _loader = data is null ? null : new BatchLoader(data, config.BatchSize, shuffle: true, seed: seed, device: _device);
    }

    public StyleGan2Config Config { get; }
    public long Seed { get; }
    public StyleGan2Generator G { get; }
    public StyleGan2Discriminator D { get; }
    /// <summary>The exponential moving average of G: use it for samples and evaluation.</summary>
    public StyleGan2Generator GEma { get; }
    public Adam GOpt { get; }
    public Adam DOpt { get; }
    public PathLengthRegularizer PathLength { get; }
    public TrainingLog Log { get; private set; } = new();

    /// <summary>Iterations done so far.</summary>
    public long Step { get; private set; }

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
        double v = t.detach().item<float>();
        if (!double.IsFinite(v)) throw new TrainingDivergedException(Step, metric, v);
        return v;
    }

    /// <summary>One iteration: G step (+ path length), EMA, D step (+ R1). Logs one row.</summary>
    /// <param name="realImages">uint8 reals [B, C, R, R] for the D step (null: the trainer's own next batch).</param>
    public StyleGan2StepStats TrainStep(Tensor? realImages = null)
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
        var reals = Preprocess.ToSigned(realImages
            ?? (_loader ?? throw new InvalidOperationException("StyleGan2Trainer was built without data: pass the real batch")).Next().Images);
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
            r1 = sq.detach().mean().item<float>();
        }

        var stats = new StyleGan2StepStats(Step, lossGValue, lossDValue,
            realLogits.detach().mean().item<float>(), realLogits.detach().std().item<float>(),
            fakeLogits.detach().mean().item<float>(), fakeLogits.detach().std().item<float>(), r1, plLength, plPenalty);
        ImagesSeen += b;
        Step++;
        var row = new List<(string, double)>
        {
            ("loss_g", stats.LossG), ("loss_d", stats.LossD), ("d_real", stats.DRealMean), ("d_real_std", stats.DRealStd),
            ("d_fake", stats.DFakeMean), ("d_fake_std", stats.DFakeStd), ("kimg", Kimg),
        };
        if (r1 is double r) row.Add(("r1", r));
        if (plLength is double pl) { row.Add(("pl_length", pl)); row.Add(("pl_mean", PathLength.Mean)); row.Add(("pl_penalty", plPenalty!.Value)); }
        Log.Add(Step, row.ToArray());
        return stats;
    }

    /// <summary>
    /// Runs <paramref name="steps"/> iterations, calling <paramref name="onProgress"/> every <paramref name="every"/>
    /// steps (and after the last) — e.g. to update a chart or write a sample grid.
    /// </summary>
    public void Train(int steps, Action<StyleGan2Trainer>? onProgress = null, int every = 50)
    {
        for (int i = 0; i < steps; i++)
        {
            TrainStep();
            if (onProgress is not null && (Step % every == 0 || i == steps - 1)) onProgress(this);
        }
    }

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

    /// <summary>The training log written beside a checkpoint: <c>run.safetensors</c> → <c>run.log.csv</c>.</summary>
    public static string LogPathFor(string checkpoint) => Path.ChangeExtension(checkpoint, null) + ".log.csv";

    IReadOnlyDictionary<string, nn.Module> Modules => new Dictionary<string, nn.Module> { ["G"] = G, ["D"] = D, ["G_ema"] = GEma };
    IReadOnlyDictionary<string, optim.Optimizer> Optimizers => new Dictionary<string, optim.Optimizer> { ["G"] = GOpt, ["D"] = DOpt };

    /// <summary>
    /// Writes G, D, G_ema, both optimizers, the config and the run state (step, images seen, data position,
    /// path-length mean, seed, libtorch's CPU generator) to one safetensors checkpoint (<see cref="Checkpoint.SaveModules"/>,
    /// atomic), and the training log beside it (<see cref="LogPathFor"/>).
    /// </summary>
    /// <param name="path">the checkpoint file.</param>
    /// <param name="extra">more metadata entries (the command line's own data position, say).</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? extra = null)
    {
        Log.SaveCsv(LogPathFor(path));
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var meta = new Dictionary<string, string>
        {
            ["images_seen"] = ImagesSeen.ToString(inv),
            ["path_length_mean"] = PathLength.Mean.ToString("R", inv),
            ["seed"] = Seed.ToString(inv),
        };
        if (_loader is not null) meta["loader_position"] = _loader.Position.ToString(inv);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
            if (!meta.TryAdd(k, v)) throw new ArgumentException($"StyleGan2Trainer.Save: metadata key '{k}' is the trainer's own", nameof(extra));
        Checkpoint.SaveModules(path, Modules, Optimizers, Config, Step, meta, saveRngState: true);
    }

    /// <summary>
    /// Restores a trainer saved by <see cref="Save"/> onto <paramref name="data"/> (the same dataset) and continues
    /// exactly where it stopped. A config that differs from <paramref name="expected"/> (when given) is refused.
    /// </summary>
    public static StyleGan2Trainer Load(string path, ImageDataset? data, Device? device = null, StyleGan2Config? expected = null)
    {
        var info = Checkpoint.ReadInfo(path);
        var config = info.Config<StyleGan2Config>();
        if (expected is not null && expected != config)
            throw new InvalidOperationException($"{path}: the checkpoint's config differs from the expected one:\n  saved:    {config}\n  expected: {expected}");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string Meta(string key) => info.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path}: not a StyleGAN2 trainer checkpoint ('{key}' is missing)");
        var t = new StyleGan2Trainer(config, data, long.Parse(Meta("seed"), inv), device);
        Checkpoint.LoadModules(path, t.Modules, t.Optimizers, config, restoreRngState: true);
        t.Step = info.Step;
        t.ImagesSeen = long.Parse(Meta("images_seen"), inv);
        if (t._loader is not null) t._loader.Position = long.Parse(Meta("loader_position"), inv);
        t.PathLength.Mean = double.Parse(Meta("path_length_mean"), inv);
        if (File.Exists(LogPathFor(path))) t.Log = TrainingLog.LoadCsv(LogPathFor(path));
        return t;
    }

    public void Dispose()
    {
        G.Dispose(); D.Dispose(); GEma.Dispose(); GOpt.Dispose(); DOpt.Dispose();
    }
}
