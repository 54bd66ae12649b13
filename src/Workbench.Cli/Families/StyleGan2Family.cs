using TorchSharp;
using Workbench.Data;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>StyleGAN2's settings all live in <see cref="StyleGan2Config"/>; this is its (empty) training record.</summary>
public sealed record NoTrainingSettings;

/// <summary>StyleGAN2 (<c>stylegan2</c>), trained on the procedural faces by default.</summary>
sealed class StyleGan2Family : IModelFamily
{
    public string Name => "stylegan2";
    public string DefaultData => "faces32";
    public Type ModelConfigType => typeof(StyleGan2Config);
    public Type TrainingConfigType => typeof(NoTrainingSettings);

    public RunConfig Preset(string preset) =>
        new(FamilyDefaults.Preset(preset) == "paper" ? new StyleGan2Config() : StyleGan2Config.Small, new NoTrainingSettings());

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(StyleGan2Config.LearningRate),
    };

    public object CheckpointConfig(RunConfig config) => config.Model;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        return config with { Model = (StyleGan2Config)config.Model with { ImageChannels = c, Resolution = size, BatchSize = batch } };
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var c = (StyleGan2Config)config.Model;
        var g = new StyleGan2Generator(c);
        var d = new StyleGan2Discriminator(c);
        g.to(device);
        d.to(device);
        return new StyleGan2Trainer(g, d, c, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((StyleGan2Trainer)trainer).GEma;

    public Tensor Sample(Trainer trainer, int n, double? psi, long seed) => Rng.WithSeed(seed, () =>
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return Preprocess.FromSigned(((StyleGan2Trainer)trainer).GEma.Sample(n, psi ?? 1.0, seed)).cpu().MoveToOuterDisposeScope();
    });
}
