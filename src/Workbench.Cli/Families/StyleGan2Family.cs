using TorchSharp;
using Workbench.Data;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>StyleGAN2 (<c>stylegan2</c>), trained on the procedural faces by default.</summary>
sealed class StyleGan2Family : IModelFamily
{
    public string Name => "stylegan2";
    public string DefaultData => "faces32";
    public Type ModelConfigType => typeof(StyleGan2Config);
    public Type TrainingConfigType => typeof(StyleGan2TrainConfig);

    public RunConfig Preset(string preset) =>
        FamilyDefaults.Preset(preset) == "paper"
            ? new(new StyleGan2Config(), new StyleGan2TrainConfig())
            : new(StyleGan2Config.Small, StyleGan2TrainConfig.Small);

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(StyleGan2TrainConfig.Steps), nameof(StyleGan2TrainConfig.LearningRate), nameof(StyleGan2TrainConfig.LogEvery),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        return new RunConfig((StyleGan2Config)config.Model with { ImageChannels = c, Resolution = size },
            (StyleGan2TrainConfig)config.Training with { Steps = steps, BatchSize = batch });
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var c = (StyleGan2Config)config.Model;
        var g = new StyleGan2Generator(c);
        var d = new StyleGan2Discriminator(c);
        g.to(device);
        d.to(device);
        return new StyleGan2Trainer(g, d, (StyleGan2TrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((StyleGan2Trainer)trainer).GEma;

    public Tensor Sample(Trainer trainer, int n, double? psi, long seed) => Rng.WithSeed(seed, () =>
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return Preprocess.FromSigned(((StyleGan2Trainer)trainer).GEma.Sample(n, psi ?? 1.0, seed)).cpu().MoveToOuterDisposeScope();
    });
}
