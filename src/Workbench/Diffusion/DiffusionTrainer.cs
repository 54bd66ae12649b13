using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// Trains a DDPM noise predictor (<see cref="UNet"/>) in the shape of every <see cref="Trainer"/>: each step scales a
/// uint8 batch to [−1, 1] (x/127.5 − 1) and takes one Adam step on L_simple (Ho et al. 2020, Algorithm 1, Eq. 14;
/// <see cref="SimpleLoss"/>) inside a dispose scope (<see cref="TrainStep.Run"/>), with linear LR warm-up, gradient
/// clipping and an EMA of the weights (the shared <see cref="Ema"/>; the averaged model evaluates and samples, as
/// the paper's). Reports "loss" (L_simple), "lr" and "grad_norm" every step (logged as means every LogEvery steps);
/// <see cref="Trainer.Evaluate"/> logs the held-out variational bound in bits/dim ("test_bpd", with its L_T and L_0 parts). A NaN or exploding loss
/// throws <see cref="TrainingDivergedException"/> with the step.
/// </summary>
public sealed class DiffusionTrainer : Trainer
{
    readonly UNet _model;
    readonly UNet _emaModel;
    readonly Ema _ema;
    readonly optim.Optimizer _optimizer;
    readonly List<Parameter> _params;
    readonly ForwardProcess _q;
    readonly ReverseProcess _p;

    /// <param name="model">the noise predictor to train (its device is the trainer's).</param>
    /// <param name="config">the training settings (null: the paper's).</param>
    /// <param name="train">the training set of the trainer's own loader (null: pass every batch to <see cref="Trainer.TrainStepOn"/>).</param>
    /// <param name="test">held-out data for <see cref="Trainer.Run(RunOptions, CancellationToken)"/>'s evaluations (null: none).</param>
    /// <param name="seed">the own loader's shuffling seed.</param>
    public DiffusionTrainer(UNet model, DiffusionTrainConfig? config = null, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
        : base(CheckShape(model, train), test, (config ?? new DiffusionTrainConfig()).BatchSize, seed, model.parameters().First().device)
    {
        _model = model;
        Config = config ?? new DiffusionTrainConfig();
        if (Config.EmaDecay is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(config), Config.EmaDecay, "EmaDecay must be in [0, 1]");
        _q = model.Config.ForwardProcess();
        _p = new ReverseProcess(_q, model.Config.Variance);
        _params = model.parameters().Where(p => p.requires_grad).ToList();
        _optimizer = optim.Adam(_params, Config.LearningRate);
        (_emaModel, _ema) = Ema.CreateShadow(model, () => new UNet(model.Config));
    }

    static ImageDataset? CheckShape(UNet model, ImageDataset? train) =>
        train is not null && (train.Channels != model.Config.ImageChannels || train.Height != model.Config.ImageSize || train.Width != model.Config.ImageSize)
            ? throw new ArgumentException($"DiffusionTrainer: {train.Name} images are {train.Channels}x{train.Height}x{train.Width}, the model expects " +
                                          $"{model.Config.ImageChannels}x{model.Config.ImageSize}x{model.Config.ImageSize}")
            : train;

    public DiffusionTrainConfig Config { get; }

    /// <summary>The noise predictor being trained.</summary>
    public UNet Model => _model;

    /// <summary>The EMA of the weights: what <see cref="Trainer.Evaluate"/> measures and the samplers use.</summary>
    public UNet EmaModel => _emaModel;

    /// <summary>The forward process q.</summary>
    public ForwardProcess Forward => _q;

    /// <summary>The reverse process p_θ (its fixed variance).</summary>
    public ReverseProcess Reverse => _p;

    /// <summary>Linear warm-up, then constant (DDPM's schedule).</summary>
    public override double LearningRateAt(long step) => Schedules.LinearWarmup(step, Config.LearningRate, Config.WarmupSteps);

    /// <summary>One Adam step on L_simple; reports "loss", "lr" and "grad_norm".</summary>
    protected override void TakeStep(Tensor? images)
    {
        _model.train();
        var result = ScheduledStep(_optimizer, _params, () =>
        {
            var x0 = Preprocess.ToSigned(NextBatch(images)).to(_params[0].dtype);
            return SimpleLoss.Sample(_q, (x, t) => _model.call(x, t), x0);
        }, Config.MaxGradNorm, divergeAbove: Config.DivergenceLoss);
        _ema.Update(Config.EmaDecay);
        Stats.Report("loss", result.Loss);
    }

    /// <summary>The held-out bound (<see cref="EvaluateBound"/>) of the EMA model on <paramref name="limit"/> examples (default
    /// <see cref="DiffusionTrainConfig.EvalLimit"/>; the first ones, or a random subset with
    /// <see cref="DiffusionTrainConfig.EvalSubsetSeed"/>), in bits/dim: "test_bpd" (L_vlb) with its standard error across
    /// examples "test_bpd_se", the same with x̂_0 clipped to [−1, 1] ("test_bpd_clipped", "test_bpd_clipped_se"; the
    /// authors' protocol), and the unclipped bound's L_T ("test_bpd_prior") and L_0 ("test_bpd_decoder").</summary>
    protected override IReadOnlyDictionary<string, double> Measure(ImageDataset test, long? limit)
    {
        var bound = EvaluateBound(_emaModel, test, limit ?? Config.EvalLimit, Config.EvalBatchSize, Config.EvalSubsetSeed, Config.BoundEvaluations);
        var result = new Dictionary<string, double>
        {
            ["test_bpd"] = bound.Bpd, ["test_bpd_se"] = bound.BpdStdError,
            ["test_bpd_clipped"] = bound.ClippedBpd, ["test_bpd_clipped_se"] = bound.ClippedBpdStdError,
            ["test_bpd_prior"] = bound.TermsBpd[^1], ["test_bpd_decoder"] = bound.TermsBpd[0],
        };
        return result;
    }

    /// <summary>
    /// The variational bound L_vlb of a noise predictor (<see cref="VariationalBound.Estimate"/>) on <paramref name="limit"/>
    /// examples (null: all): the first ones, or with <paramref name="subsetSeed"/> a random subset drawn without replacement.
    /// <paramref name="evaluations"/> network evaluations per example (null: all T, the exact sum of the terms; fewer:
    /// the stratified estimate). Eval mode, no gradients, noise and t from libtorch's global generator.
    /// </summary>
    public static BoundEvaluation EvaluateBound(UNet model, ImageDataset data, long? limit = null, int batchSize = 100,
        long? subsetSeed = null, int? evaluations = null, Action<long>? progress = null) => EvalMode.Run(model, () =>
    {
        var p = model.Config.ReverseProcess();
        int T = p.Q.Timesteps, k = Math.Min(evaluations ?? T, T);
        var param = model.parameters().First();
        long dims = model.Config.ImageChannels * model.Config.ImageSize * (long)model.Config.ImageSize;
        double toBpd = 1 / (dims * Math.Log(2));
        var terms = new BoundTerms(T);
        var plain = new List<double>();
        var clipped = new List<double>();
        using var _ = no_grad();
        using var subset = subsetSeed is long s ? data.Sample(limit ?? data.Count, s) : null;
        foreach (var batch in BatchLoader.Sequential(subset ?? data, batchSize, param.device, subset is null ? limit : null))
        {
            using (var scope = NewDisposeScope())
            {
                var x0 = Preprocess.ToSigned(batch.Images).to(param.dtype);
                var (a, b) = VariationalBound.Estimate(p, (x, t) => model.call(x, t), x0, k, terms: terms);
                plain.AddRange(a.to(ScalarType.Float64).cpu().data<double>().Select(v => v * toBpd));
                clipped.AddRange(b.to(ScalarType.Float64).cpu().data<double>().Select(v => v * toBpd));
            }
            batch.Images.Dispose(); batch.Labels?.Dispose(); batch.Factors?.Dispose();
            progress?.Invoke(plain.Count);
        }
        if (plain.Count == 0) throw new ArgumentException($"{data.Name}: no examples to evaluate", nameof(data));
        return new BoundEvaluation(plain.Count, k, plain.Average(), BoundEvaluation.StdError(plain), clipped.Average(),
            BoundEvaluation.StdError(clipped), terms.Means.Select(v => v * toBpd).ToArray());
    });

    /// <summary>n samples as uint8 images [n, C, H, W] from the EMA model: DDIM with <paramref name="steps"/> steps (default
    /// <see cref="DiffusionTrainConfig.SampleSteps"/>) and η (default <see cref="DiffusionTrainConfig.SampleEta"/>), or
    /// DDPM's ancestral sampler when <paramref name="ancestral"/> (default <see cref="DiffusionTrainConfig.SampleAncestral"/>); x_T ~ N(0, t² I) at temperature t.</summary>
    public Tensor SampleImages(int n, int? steps = null, double? eta = null, bool? ancestral = null, double temperature = 1.0) =>
        EvalMode.Run(_emaModel, () =>
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var param = _emaModel.parameters().First();
            var c = _emaModel.Config;
            var xT = randn(new long[] { n, c.ImageChannels, c.ImageSize, c.ImageSize }, dtype: param.dtype, device: param.device) * temperature;
            Func<Tensor, Tensor, Tensor> eps = (x, t) => _emaModel.call(x, t);
            var x0 = ancestral ?? Config.SampleAncestral
                ? AncestralSampler.Sample(_p, eps, xT)
                : DdimSampler.Sample(_q, eps, xT, steps ?? Config.SampleSteps, eta ?? Config.SampleEta);
            return Preprocess.FromSigned(x0).cpu().MoveToOuterDisposeScope();
        });

    protected override int LogEvery => Config.LogEvery;
    protected override long? TotalSteps => Config.Steps;
    protected override long EvalEvery => Config.EvalEvery;
    protected override long? EvalLimit => Config.EvalLimit;

    protected override IReadOnlyDictionary<string, nn.Module> Modules => ModelAndEma(_model, _emaModel);
    protected override IReadOnlyDictionary<string, optim.Optimizer> Optimizers =>
        new Dictionary<string, optim.Optimizer> { ["optimizer"] = _optimizer };
    protected override object CheckpointConfig => new RunConfig(_model.Config, Config);

    /// <summary>Disposes the optimizer and the EMA copy (the model stays the caller's).</summary>
    public override void Dispose() { _optimizer.Dispose(); _emaModel.Dispose(); }
}
