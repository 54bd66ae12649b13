using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>The pixel models: PixelCNN (<c>pixelcnn</c>), Gated PixelCNN (<c>gated-pixelcnn</c>) and PixelCNN++
/// (<c>pixelcnn++</c>), trained by exact likelihood (<see cref="PixelCnnTrainer"/>) and sampled pixel by pixel.</summary>
sealed class PixelCnnFamily(string name) : IModelFamily
{
    public const string Plain = "pixelcnn", Gated = "gated-pixelcnn", PlusPlus = "pixelcnn++";

    public string Name => name;
    public string DefaultData => "fashion-mnist";
    public Type ModelConfigType => name switch
    {
        Gated => typeof(GatedPixelCnnConfig),
        PlusPlus => typeof(PixelCnnPlusPlusConfig),
        _ => typeof(PixelCnnConfig),
    };
    public Type TrainingConfigType => typeof(PixelCnnTrainConfig);

    public RunConfig Preset(string preset)
    {
        bool paper = FamilyDefaults.Preset(preset) == "paper";
        object model = name switch
        {
            Gated => paper ? new GatedPixelCnnConfig() : GatedPixelCnnConfig.Small,
            PlusPlus => paper ? new PixelCnnPlusPlusConfig() : PixelCnnPlusPlusConfig.Small,
            _ => paper ? new PixelCnnConfig() : PixelCnnConfig.Small,
        };
        // log.csv: a row per step
        return new RunConfig(model, (paper ? new PixelCnnTrainConfig() : PixelCnnTrainConfig.Small) with { LogEvery = 1 });
    }

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(PixelCnnTrainConfig.Steps), nameof(PixelCnnTrainConfig.LearningRate), nameof(PixelCnnTrainConfig.LearningRateDecay),
        nameof(PixelCnnTrainConfig.MaxGradNorm), nameof(PixelCnnTrainConfig.LogEvery), nameof(PixelCnnTrainConfig.EvalEvery),
        nameof(PixelCnnTrainConfig.EvalLimit), nameof(PixelCnnTrainConfig.EvalBatchSize), nameof(PixelCnnTrainConfig.DivergenceBpd),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        object model = config.Model switch
        {
            PixelCnnConfig m => m with { ImageChannels = c, ImageSize = size },
            GatedPixelCnnConfig m => m with { ImageChannels = c, ImageSize = size },
            PixelCnnPlusPlusConfig m => CheckScales(m with { ImageChannels = c, ImageSize = size }, train.Name),
            _ => throw new ArgumentException($"not a pixel model config: {config.Model.GetType().Name}"),
        };
        if (model is GatedPixelCnnConfig { Classes: > 0 } g && train.Labels is null)
            throw new UsageException($"{train.Name} has no labels: Classes={g.Classes} needs them (--set Classes=0 for an unconditional model).");
        return new RunConfig(model, (PixelCnnTrainConfig)config.Training with { Steps = steps, BatchSize = batch });
    }

    static PixelCnnPlusPlusConfig CheckScales(PixelCnnPlusPlusConfig m, string data)
    {
        int unit = 1 << (m.Scales - 1);
        return m.ImageSize % unit == 0 ? m
            : throw new UsageException($"{data}: {m.ImageSize}x{m.ImageSize} images, but Scales={m.Scales} needs sides that are multiples of {unit}.");
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var model = PixelModels.Create(config.Model);
        model.to(device);
        return new PixelCnnTrainer(model, (PixelCnnTrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((PixelCnnTrainer)trainer).InferenceModel;

    /// <summary>Samples from the averaged weights pixel by pixel; a conditional model draws the classes 0, 1, 2, … in turn.
    /// The knob (--temperature) divides the categorical logits (not available for PixelCNN++'s mixture).</summary>
    public Tensor Sample(Trainer trainer, int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
    {
        var t = (PixelCnnTrainer)trainer;
        int classes = ((IPixelModel)t.InferenceModel).Classes;
        using var labels = classes > 0 ? arange(n, ScalarType.Int64) % classes : null;
        return t.SampleImages(n, temperature ?? 1.0, labels).cpu();
    });
}
