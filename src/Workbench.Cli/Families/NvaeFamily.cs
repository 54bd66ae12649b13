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
    public Type TrainingConfigType => typeof(NvaeTrainerConfig);

    public RunConfig Preset(string preset) => FamilyDefaults.Preset(preset) == "paper"
        ? new RunConfig(hierarchical ? new NvaeConfig() : new VaeConfig(), new NvaeTrainerConfig())
        : new RunConfig(hierarchical ? NvaeConfig.Small : VaeConfig.Small, new NvaeTrainerConfig());

    public RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch)
    {
        var (c, size) = FamilyDefaults.Shape(train);
        object model = config.Model switch
        {
            NvaeConfig n => n with { ImageChannels = c, ImageSize = size },
            VaeConfig v => v with { ImageChannels = c, ImageSize = size },
            var other => throw new ArgumentException($"not an NVAE/VAE config: {other.GetType().Name}"),
        };
        var training = (NvaeTrainerConfig)config.Training with { Steps = steps };
        return new RunConfig(model, training);
    }

    public ITrainer CreateTrainer(RunConfig config, TrainerOptions options) => new Trainer(config, options);

    sealed class Trainer : ITrainer
    {
        readonly RunConfig _config;
        readonly VaeModel _model;
        readonly NvaeTrainer _trainer;

        public Trainer(RunConfig config, TrainerOptions options)
        {
            _config = config;
            _model = config.Model is NvaeConfig n ? new Workbench.Nvae.Nvae(n) : new Vae((VaeConfig)config.Model);
            _model.to(options.Device);
            _trainer = new NvaeTrainer(_model, (NvaeTrainerConfig)config.Training);
        }

        public IReadOnlyDictionary<string, double> Step(Batch batch, long step)
        {
            _trainer.Step = step - 1;
            double loss = _trainer.TrainStepOn(batch.Images, logEvery: 10);
            var m = new Dictionary<string, double> { ["loss_nats"] = loss };
            var names = new[] { "bpd", "recon", "kl", "beta", "lr" }
                .Concat(Enumerable.Range(0, _model.GroupShapes.Count).SelectMany(l => new[] { $"kl_g{l}", $"au_g{l}" }));
            foreach (var name in names)
                if (_trainer.Log.Last(name) is double v) m[name] = v;
            return m;
        }

        public IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit)
        {
            const int k = 20;
            int n = (int)Math.Min(limit ?? test.Count, test.Count);
            var (nelbo, iw) = NvaeTrainer.EvaluateModel(_model, test, n, k);
            var result = new Dictionary<string, double> { ["test_bpd_elbo"] = nelbo, ["test_bpd_iw"] = iw, ["iw_samples"] = k };
            // which groups carry information: held-out KL (nats) and active units per group
            var (kl, active) = NvaeTrainer.KlStatistics(_model, test, n);
            for (int l = 0; l < kl.Length; l++) { result[$"test_kl_g{l}"] = kl[l]; result[$"test_au_g{l}"] = active[l]; }
            return result;
        }

        public Tensor Sample(int n, double? temperature, long seed) => Rng.WithSeed(seed, () =>
        {
            _model.eval();
            try { return _model.SampleImages(n, temperature ?? 1.0).cpu(); }
            finally { _model.train(); }
        });

        public void Save(string path, long step, IReadOnlyDictionary<string, string> extra) =>
            Checkpoint.SaveModule(path, _model, _config, step, _trainer.Optimizer, extra, saveRngState: true);

        public CheckpointInfo Load(string path, bool restoreRng)
        {
            var info = Checkpoint.LoadModule(path, _model, _config, _trainer.Optimizer, restoreRng);
            _trainer.Step = info.Step;
            return info;
        }

        public void Dispose()
        {
            _trainer.Optimizer.Dispose();
            _model.Dispose();
        }
    }
}
