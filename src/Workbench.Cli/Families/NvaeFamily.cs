using TorchSharp;
using Workbench.Nvae;
using Workbench.Training;
using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>NVAE (<c>nvae</c>) and the plain VAE built from the same parts (<c>vae</c>).</summary>
sealed class NvaeFamily(bool hierarchical) : IModelFamily
{
    public string Name => hierarchical ? "nvae" : "vae";
    public string DefaultData => "fashion-mnist";
    public Type ModelConfigType => hierarchical ? typeof(NvaeConfig) : typeof(VaeConfig);
    public Type TrainingConfigType => typeof(NvaeTrainConfig);

    public RunConfig Preset(string preset) => FamilyDefaults.Preset(preset) == "paper"
        ? new RunConfig(hierarchical ? new NvaeConfig() : new VaeConfig(), new NvaeTrainConfig())
        : new RunConfig(hierarchical ? NvaeConfig.Small : VaeConfig.Small, new NvaeTrainConfig());

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(NvaeTrainConfig.Steps), nameof(NvaeTrainConfig.LearningRate), nameof(NvaeTrainConfig.MinLearningRate),
        nameof(NvaeTrainConfig.WarmupSteps), nameof(NvaeTrainConfig.MaxGradNorm), nameof(NvaeTrainConfig.KlAnnealFraction),
        nameof(NvaeTrainConfig.KlConstFraction), nameof(NvaeTrainConfig.KlMinCoefficient), nameof(NvaeTrainConfig.SpectralLambda),
        nameof(NvaeTrainConfig.SpectralLambdaInit), nameof(NvaeTrainConfig.PowerIterations),
        nameof(NvaeTrainConfig.ActiveUnitThreshold), nameof(NvaeTrainConfig.LogEvery), nameof(NvaeTrainConfig.IwSamples),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        object model = config.Model switch
        {
            NvaeConfig n => n with { ImageChannels = c, ImageSize = size },
            VaeConfig v => v with { ImageChannels = c, ImageSize = size },
            var other => throw new ArgumentException($"not an NVAE/VAE config: {other.GetType().Name}"),
        };
        var training = (NvaeTrainConfig)config.Training with { Steps = steps, BatchSize = batch };
        return new RunConfig(model, training);
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        VaeModel model = config.Model is NvaeConfig n ? new Workbench.Nvae.Nvae(n) : new Vae((VaeConfig)config.Model);
        model.to(device);
        return new NvaeTrainer(model, (NvaeTrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((NvaeTrainer)trainer).Model;

    public Tensor Sample(Trainer trainer, int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
    {
        var model = ((NvaeTrainer)trainer).Model;
        return EvalMode.Run(model, () => model.SampleImages(n, temperature ?? 1.0).cpu());
    });
}
