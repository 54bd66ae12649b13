using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>The autoregressive image models: PixelCNN (<c>pixelcnn</c>), Gated PixelCNN (<c>gated-pixelcnn</c>) and
/// PixelCNN++ (<c>pixelcnn++</c>), trained by exact likelihood and sampled pixel by pixel, and MAF (<c>maf</c>) over the
/// flattened image, trained on its dequantization bound (<see cref="AutoregressiveTrainer"/>).</summary>
sealed class AutoregressiveFamily(string name) : IModelFamily
{
    public const string Plain = "pixelcnn", Gated = "gated-pixelcnn", PlusPlus = "pixelcnn++", Maf = "maf";

    public string Name => name;
    public string DefaultData => "fashion-mnist";
    public Type ModelConfigType => name switch
    {
        Gated => typeof(GatedPixelCnnConfig),
        PlusPlus => typeof(PixelCnnPlusPlusConfig),
        Maf => typeof(MafConfig),
        _ => typeof(PixelCnnConfig),
    };
    public Type TrainingConfigType => typeof(AutoregressiveTrainConfig);

    public RunConfig Preset(string preset)
    {
        bool paper = FamilyDefaults.Preset(preset) == "paper";
        object model = name switch
        {
            Gated => paper ? new GatedPixelCnnConfig() : GatedPixelCnnConfig.Small,
            PlusPlus => paper ? new PixelCnnPlusPlusConfig() : PixelCnnPlusPlusConfig.Small,
            Maf => paper ? new MafConfig() : MafConfig.Small,
            _ => paper ? new PixelCnnConfig() : PixelCnnConfig.Small,
        };
        var training = paper ? new AutoregressiveTrainConfig() : AutoregressiveTrainConfig.Small;
        // MAF: Adam at 1e-4 without decay (the MAF paper), clipped gradients, no averaged copy
        if (name == Maf) training = training with { LearningRate = 1e-4, LearningRateDecay = 1, MaxGradNorm = 100, EmaDecay = null };
        return new RunConfig(model, training with { LogEvery = 1 });   // log.csv: a row per step
    }

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(AutoregressiveTrainConfig.Steps), nameof(AutoregressiveTrainConfig.LearningRate), nameof(AutoregressiveTrainConfig.LearningRateDecay),
        nameof(AutoregressiveTrainConfig.MaxGradNorm), nameof(AutoregressiveTrainConfig.LogEvery), nameof(AutoregressiveTrainConfig.EvalEvery),
        nameof(AutoregressiveTrainConfig.EvalLimit), nameof(AutoregressiveTrainConfig.EvalBatchSize), nameof(AutoregressiveTrainConfig.DivergenceBpd),
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
            MafConfig m => m with { ImageChannels = c, ImageSize = size },
            _ => throw new ArgumentException($"not a pixel model config: {config.Model.GetType().Name}"),
        };
        if (model is GatedPixelCnnConfig { Classes: > 0 } g && train.Labels is null)
            throw new UsageException($"{train.Name} has no labels: Classes={g.Classes} needs them (--set Classes=0 for an unconditional model).");
        return new RunConfig(model, (AutoregressiveTrainConfig)config.Training with { Steps = steps, BatchSize = batch });
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
        return new AutoregressiveTrainer(model, (AutoregressiveTrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((AutoregressiveTrainer)trainer).InferenceModel;

    /// <summary>Samples from the averaged weights pixel by pixel; a conditional model draws the classes 0, 1, 2, … in turn.
    /// The knob (--temperature) divides the categorical logits, scales MAF's noise, and is not available for PixelCNN++'s
    /// mixture.</summary>
    public Tensor Sample(Trainer trainer, int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
    {
        var t = (AutoregressiveTrainer)trainer;
        int classes = ((IPixelModel)t.InferenceModel).Classes;
        using var labels = classes > 0 ? arange(n, ScalarType.Int64) % classes : null;
        return t.SampleImages(n, temperature ?? 1.0, labels).cpu();
    });
}
