using TorchSharp;
using Workbench.Data;
using Workbench.Diffusion;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>DDPM (<c>diffusion</c>): a U-Net noise predictor trained with L_simple, evaluated by its variational bound
/// in bits/dim, sampled with DDIM (<see cref="DiffusionTrainConfig.SampleSteps"/> steps, η = <see cref="DiffusionTrainConfig.SampleEta"/>)
/// or, with <see cref="DiffusionTrainConfig.SampleAncestral"/>, DDPM's ancestral sampler.</summary>
sealed class DiffusionFamily : IModelFamily
{
    public string Name => "diffusion";
    public string DefaultData => "fashion-mnist";
    public Type ModelConfigType => typeof(DiffusionConfig);
    public Type TrainingConfigType => typeof(DiffusionTrainConfig);

    public RunConfig Preset(string preset) => FamilyDefaults.Preset(preset) == "paper"
        ? new RunConfig(new DiffusionConfig(), new DiffusionTrainConfig { LogEvery = 1 })
        : new RunConfig(DiffusionConfig.Small, DiffusionTrainConfig.Small with { LogEvery = 1 });   // log.csv: a row per step

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(DiffusionTrainConfig.Steps), nameof(DiffusionTrainConfig.LearningRate), nameof(DiffusionTrainConfig.WarmupSteps),
        nameof(DiffusionTrainConfig.MaxGradNorm), nameof(DiffusionTrainConfig.EmaDecay), nameof(DiffusionTrainConfig.LogEvery),
        nameof(DiffusionTrainConfig.EvalEvery), nameof(DiffusionTrainConfig.EvalLimit), nameof(DiffusionTrainConfig.EvalBatchSize), nameof(DiffusionTrainConfig.EvalSubsetSeed), nameof(DiffusionTrainConfig.BoundEvaluations),
        nameof(DiffusionTrainConfig.SampleSteps), nameof(DiffusionTrainConfig.SampleEta), nameof(DiffusionTrainConfig.SampleAncestral),
        nameof(DiffusionTrainConfig.DivergenceLoss),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        var model = config.Model as DiffusionConfig ?? throw new ArgumentException($"not a diffusion config: {config.Model.GetType().Name}");
        var training = (DiffusionTrainConfig)config.Training with { Steps = steps, BatchSize = batch };
        return new RunConfig(model with { ImageChannels = c, ImageSize = size }, training);
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var model = new UNet((DiffusionConfig)config.Model);
        model.to(device);
        return new DiffusionTrainer(model, (DiffusionTrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((DiffusionTrainer)trainer).EmaModel;

    /// <summary>Samples from the EMA weights by the run's sampler (DDIM by default); the knob (--temperature) scales x_T's standard deviation.</summary>
    public Tensor Sample(Trainer trainer, int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
        ((DiffusionTrainer)trainer).SampleImages(n, temperature: temperature ?? 1.0));
}
