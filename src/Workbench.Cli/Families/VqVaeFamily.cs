using TorchSharp;
using Workbench.Data;
using Workbench.Training;
using Workbench.VqVae;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>VQ-VAE (<c>vqvae</c>; VQ-VAE-2 with <c>--set Levels=2</c>): one run trains the autoencoder, then the PixelCNN
/// prior over its code maps (<see cref="VqVaeTrainConfig.PriorFraction"/> of the steps); eval reports reconstruction MSE,
/// codebook perplexity and the bits/dim bound; samples draw codes from the prior and decode them (--temperature divides
/// the prior's logits).</summary>
sealed class VqVaeFamily : IModelFamily
{
    public string Name => "vqvae";
    public string DefaultData => "fashion-mnist";
    public Type ModelConfigType => typeof(VqVaeConfig);
    public Type TrainingConfigType => typeof(VqVaeTrainConfig);

    public RunConfig Preset(string preset) => FamilyDefaults.Preset(preset) == "paper"
        ? new RunConfig(new VqVaeConfig(), new VqVaeTrainConfig())
        : new RunConfig(VqVaeConfig.Small, VqVaeTrainConfig.Small);

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(VqVaeTrainConfig.Steps), nameof(VqVaeTrainConfig.PriorFraction), nameof(VqVaeTrainConfig.LearningRate), nameof(VqVaeTrainConfig.PriorLearningRate),
        nameof(VqVaeTrainConfig.MaxGradNorm), nameof(VqVaeTrainConfig.LogEvery), nameof(VqVaeTrainConfig.EvalEvery),
        nameof(VqVaeTrainConfig.EvalLimit), nameof(VqVaeTrainConfig.EvalBatchSize), nameof(VqVaeTrainConfig.DivergenceLoss),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        var model = config.Model as VqVaeConfig ?? throw new ArgumentException($"not a VQ-VAE config: {config.Model.GetType().Name}");
        var training = (VqVaeTrainConfig)config.Training with { Steps = steps, BatchSize = batch };
        // the split is fixed when the run starts: a resume with more steps extends the prior stage
        training = training with { AutoencoderStepCount = training.AutoencoderStepCount ?? training.AutoencoderSteps() };
        return new RunConfig(model with { ImageChannels = c, ImageSize = size }, training);
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var model = new Workbench.VqVae.VqVae((VqVaeConfig)config.Model);
        model.to(device);
        return new VqVaeTrainer(model, (VqVaeTrainConfig)config.Training, train, test, seed);
    }

    /// <summary>The autoencoder and its priors together ("model.…", "prior.…"): sampling needs both.</summary>
    public nn.Module InferenceModule(Trainer trainer)
    {
        var t = (VqVaeTrainer)trainer;
        return new Inference(t.Model, t.PriorModule);
    }

    /// <summary>The autoencoder and its priors registered as one module.</summary>
    sealed class Inference : nn.Module
    {
        readonly Workbench.VqVae.VqVae model;
        readonly CodePriors prior;

        public Inference(Workbench.VqVae.VqVae model, CodePriors prior) : base("VqVaeInference")
        {
            this.model = model;
            this.prior = prior;
            RegisterComponents();
        }
    }

    public Tensor Sample(Trainer trainer, int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
        ((VqVaeTrainer)trainer).SampleImages(n, temperature ?? 1.0));
}
