using TorchSharp;
using Workbench.Data;
using Workbench.Gans;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>
/// The GAN lineage before StyleGAN2 on images, one adapter for three names: <c>gan</c> (the minimax game of Goodfellow
/// et al. 2014 on DCGAN's networks; <c>--set Loss=NonSaturating</c> for the paper's practical G loss), <c>dcgan</c>
/// (Radford et al. 2016: non-saturating loss, Adam 2e-4, β1 0.5) and <c>wgan-gp</c> (Gulrajani et al. 2017: Wasserstein
/// critic without batch norm, λ = 10, n_critic 5, Adam 1e-4, β (0, 0.9)). Every option is a <c>--set</c>:
/// <c>Loss=Hinge</c>, <c>SpectralNorm=true</c>, <c>Attention=8</c>, <c>Classes=10</c>, <c>Projection=true</c>,
/// <c>NCritic=…</c>, <c>WeightClip=0.01</c> with <c>Optimizer=RmsProp</c> for WGAN. Images are 32x32 by default
/// (Fashion-MNIST padded to 32, or the procedural faces).
/// </summary>
sealed class GanFamily(string name) : IModelFamily
{
    public string Name => name;
    public string DefaultData => "fashion-mnist-32";
    public Type ModelConfigType => typeof(GanConfig);
    public Type TrainingConfigType => typeof(GanTrainConfig);

    public RunConfig Preset(string preset)
    {
        bool paper = FamilyDefaults.Preset(preset) == "paper";
        var model = paper ? new GanConfig() : GanConfig.Small;
        return name switch
        {
            "gan" => new RunConfig(model with { Loss = GanLoss.Minimax }, GanTrainConfig.Gan with { LogEvery = 1 }),
            "wgan-gp" => new RunConfig(model with { Loss = GanLoss.Wasserstein, DiscriminatorBatchNorm = false }, GanTrainConfig.WganGp with { LogEvery = 1 }),
            _ => new RunConfig(model, GanTrainConfig.Dcgan with { LogEvery = 1 }),
        };
    }

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(GanTrainConfig.Steps), nameof(GanTrainConfig.LearningRate), nameof(GanTrainConfig.DiscriminatorLearningRate),
        nameof(GanTrainConfig.LogEvery), nameof(GanTrainConfig.EvalEvery),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        if (size < 8 || (size & (size - 1)) != 0)
            throw new UsageException($"{train.Name}: images are {size}x{size}; {name} needs a power-of-two side >= 8 (use fashion-mnist-32 for Fashion-MNIST).");
        var model = (GanConfig)config.Model with { Architecture = GanArchitecture.Dcgan, ImageChannels = c, Resolution = size };
        if (model.Classes > 0 && train.Labels is null)
            throw new UsageException($"{train.Name} has no labels; Classes={model.Classes} needs them.");
        try { model.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        return new RunConfig(model, (GanTrainConfig)config.Training with { Steps = steps, BatchSize = batch });
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var (g, d) = GanModels.Create((GanConfig)config.Model);
        g.to(device);
        d.to(device);
        return new GanTrainer(g, d, (GanTrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((GanTrainer)trainer).G;

    /// <summary>Samples of G in eval mode (batch norm's running statistics); a conditional G cycles through the classes
    /// (sample i has class i mod Classes). GANs here have no sampling knob.</summary>
    public Tensor Sample(Trainer trainer, int n, double? knob, long seed)
    {
        if (knob is not null) throw new UsageException($"{name} has no --temperature or --psi (its z ~ N(0, I) is sampled as trained).");
        return Rng.WithSeed(seed, () =>
        {
            var g = ((GanTrainer)trainer).G;
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var labels = g.Config.Classes > 0 ? arange(n, dtype: ScalarType.Int64).remainder(g.Config.Classes) : null;
            return EvalMode.Run(g, () => Preprocess.FromSigned(g.Sample(n, labels)).cpu().MoveToOuterDisposeScope());
        });
    }
}
