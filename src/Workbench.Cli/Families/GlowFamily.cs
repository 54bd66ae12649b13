using TorchSharp;
using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>Glow (<c>glow</c>) and its predecessors as configurations of the same parts (<c>realnvp</c>, <c>nice</c>).</summary>
sealed class GlowFamily(string name) : IModelFamily
{
    public string Name => name;
    public string DefaultData => "fashion-mnist";
    public Type ModelConfigType => typeof(GlowConfig);
    public Type TrainingConfigType => typeof(FlowTrainConfig);

    public RunConfig Preset(string preset)
    {
        var small = name switch { "nice" => GlowConfig.Nice, "realnvp" => GlowConfig.RealNvp, _ => GlowConfig.Small };
        var paper = name switch
        {
            "nice" => GlowConfig.Paper with { Coupling = Coupling.Additive, Permutation = Permutation.Reverse, LearnTopPrior = false },
            "realnvp" => GlowConfig.Paper with { Permutation = Permutation.Reverse, LearnTopPrior = false },
            _ => GlowConfig.Paper,
        };
        return new RunConfig(FamilyDefaults.Preset(preset) == "paper" ? paper : small, new FlowTrainConfig { LogEvery = 1 });   // log.csv: a row per step
    }

    public IReadOnlySet<string> ResumeSafe { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        nameof(FlowTrainConfig.Steps), nameof(FlowTrainConfig.LearningRate), nameof(FlowTrainConfig.WarmupSteps),
        nameof(FlowTrainConfig.MaxGradNorm), nameof(FlowTrainConfig.LogEvery), nameof(FlowTrainConfig.EvalEvery),
        nameof(FlowTrainConfig.EvalLimit), nameof(FlowTrainConfig.EvalBatchSize), nameof(FlowTrainConfig.DivergenceBpd),
    };

    public object CheckpointConfig(RunConfig config) => config;

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        FamilyDefaults.Shape(train);
        var training = (FlowTrainConfig)config.Training with { Steps = steps, BatchSize = batch };
        return new RunConfig(config.Model, training);
    }

    public Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0)
    {
        var model = new Glow((GlowConfig)config.Model, shape[0], shape[1], shape[2]);
        model.to(device);
        return new FlowTrainer(model, (FlowTrainConfig)config.Training, train, test, seed);
    }

    public nn.Module InferenceModule(Trainer trainer) => ((FlowTrainer)trainer).EmaModel ?? ((FlowTrainer)trainer).Model;

    public Tensor Sample(Trainer trainer, int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
    {
        var flow = (FlowTrainer)trainer;
        var model = flow.EmaModel ?? flow.Model;   // the averaged weights when there are any, as evaluation uses
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return EvalMode.Run(model, () =>
            Preprocess.FromFlowOutput(model.Sample(n, temperature ?? 1.0), model.Config.NBits).cpu().MoveToOuterDisposeScope());
    });
}
