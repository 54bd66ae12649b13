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
        return new RunConfig(FamilyDefaults.Preset(preset) == "paper" ? paper : small, new FlowTrainConfig());
    }

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        FamilyDefaults.Shape(train);
        var training = (FlowTrainConfig)config.Training with { Steps = (int)steps, BatchSize = batch, Verbose = false };
        return new RunConfig(config.Model, training);
    }

    public ITrainer CreateTrainer(RunConfig config, TrainerOptions options) => new Trainer(config, options);

    sealed class Trainer : ITrainer
    {
        readonly RunConfig _config;
        readonly Glow _model;
        readonly FlowTrainer _trainer;

        public Trainer(RunConfig config, TrainerOptions options)
        {
            _config = config;
            var glow = (GlowConfig)config.Model;
            _model = new Glow(glow, options.Shape[0], options.Shape[1], options.Shape[2]);
            _model.to(options.Device);
            _trainer = new FlowTrainer(_model, train: null, test: null, (FlowTrainConfig)config.Training);
        }

        public IReadOnlyDictionary<string, double> Step(Batch batch, long step)
        {
            _trainer.Step = step - 1;
            double bpd = _trainer.TrainStepOn(batch.Images);
            return new Dictionary<string, double> { ["train_bpd"] = bpd, ["lr"] = _trainer.LearningRateAt(step - 1) };
        }

        public IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit) =>
            new Dictionary<string, double> { ["test_bpd"] = _trainer.Evaluate(test, limit) };

        public Tensor Sample(int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var model = _trainer.EmaModel ?? _model;   // the averaged weights when there are any, as evaluation uses
            bool wasTraining = model.training;
            model.eval();
            try
            {
                var x = model.Sample(n, temperature ?? 1.0);
                return Preprocess.FromFlowOutput(x, ((GlowConfig)_config.Model).NBits).cpu().MoveToOuterDisposeScope();
            }
            finally { model.train(wasTraining); }
        });

        // the model as "model" (and the Polyak average as "ema" when on), its optimizer as "optimizer"
        Dictionary<string, nn.Module> Modules() => _trainer.EmaModel is { } ema
            ? new() { ["model"] = _model, ["ema"] = ema }
            : new() { ["model"] = _model };

        public void Save(string path, long step, IReadOnlyDictionary<string, string> extra) =>
            Checkpoint.SaveModules(path, Modules(), new Dictionary<string, optim.Optimizer> { ["optimizer"] = _trainer.Optimizer },
                _config, step, extra, saveRngState: true);

        public CheckpointInfo Load(string path, bool restoreRng)
        {
            var info = Checkpoint.LoadModules(path, Modules(), new Dictionary<string, optim.Optimizer> { ["optimizer"] = _trainer.Optimizer },
                _config, restoreRng);
            _trainer.Step = info.Step;
            return info;
        }

        public void Dispose()
        {
            _trainer.Dispose();
            _model.Dispose();
        }
    }
}
