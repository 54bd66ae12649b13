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

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        return config with { Model = (StyleGan2Config)config.Model with { ImageChannels = c, Resolution = size, BatchSize = batch } };
    }

    public ITrainer CreateTrainer(RunConfig config, TrainerOptions options) => new Trainer(config, options);

    sealed class Trainer(RunConfig config, TrainerOptions options) : ITrainer
    {
        readonly StyleGan2Config _config = (StyleGan2Config)config.Model;
        StyleGan2Trainer _trainer = new((StyleGan2Config)config.Model, data: null, options.Seed, options.Device);

        public IReadOnlyDictionary<string, double> Step(Batch batch, long step)
        {
            var s = _trainer.TrainStep(batch.Images);
            var m = new Dictionary<string, double>
            {
                ["loss_g"] = s.LossG, ["loss_d"] = s.LossD, ["d_real"] = s.DRealMean, ["d_fake"] = s.DFakeMean,
            };
            if (s.R1 is double r1) m["r1"] = r1;
            if (s.PathLength is double pl) m["path_length"] = pl;
            return m;
        }

        /// <summary>No held-out metric for GANs until the feature-space metrics land.</summary>
        public IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit) => new Dictionary<string, double>();

        public Tensor Sample(int n, double? psi, long seed) => Rng.WithSeed(seed, () =>
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            return Preprocess.FromSigned(_trainer.GEma.Sample(n, psi ?? 1.0, seed)).cpu().MoveToOuterDisposeScope();
        });

        public void Save(string path, long step, IReadOnlyDictionary<string, string> extra) => _trainer.Save(path, extra);

        public CheckpointInfo Load(string path, bool restoreRng)
        {
            using var saved = random.get_rng_state();
            var loaded = StyleGan2Trainer.Load(path, data: null, options.Device, expected: _config);
            if (!restoreRng) random.set_rng_state(saved);
            _trainer.Dispose();
            _trainer = loaded;
            return Checkpoint.ReadInfo(path);
        }

        public void Dispose() => _trainer.Dispose();
    }
}
