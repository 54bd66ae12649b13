using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>
/// What the command line needs from a model family: its config presets, a trainer built from a config, and how the
/// family's checkpoints are read. One adapter per family (Glow/RealNVP/NICE, StyleGAN2, NVAE/VAE) maps this onto the
/// family's own classes, so the library stays free of command-line concerns.
/// </summary>
public interface IModelFamily
{
    /// <summary>The name on the command line (glow, realnvp, nice, stylegan2, nvae, vae).</summary>
    string Name { get; }

    /// <summary>The dataset used when --data is not given.</summary>
    string DefaultData { get; }

    /// <summary>The model and training config records for a preset ("small" or "paper").</summary>
    RunConfig Preset(string preset);

    /// <summary>The two record types (to read a run's run.json back).</summary>
    Type ModelConfigType { get; }
    Type TrainingConfigType { get; }

    /// <summary>
    /// The config actually trained: the model fitted to the data's shape (channels, size) and the training schedule
    /// to the run's length and batch. This is what run.json records.
    /// </summary>
    RunConfig Resolve(RunConfig config, ImageDataset train, long steps, int batch);

    /// <summary>A trainer for a resolved config.</summary>
    ITrainer CreateTrainer(RunConfig config, TrainerOptions options);
}

/// <summary>A family's two config records: the model's and the training's; <c>--set</c> reaches both.</summary>
public sealed record RunConfig(object Model, object Training);

/// <summary>Options every family's trainer takes from the command line.</summary>
/// <param name="Shape">the images' [C, H, W], as recorded in run.json.</param>
public sealed record TrainerOptions(int Batch, long TotalSteps, long Seed, Device Device, long[] Shape);

/// <summary>A family's training state, driven one step at a time by <c>workbench train</c>.</summary>
public interface ITrainer : IDisposable
{
    /// <summary>One training step (for GANs: one D and one G step) on a uint8 batch; returns the metrics to log.</summary>
    IReadOnlyDictionary<string, double> Step(Batch batch, long step);

    /// <summary>The held-out metrics (e.g. test_bpd, or test_bpd_elbo / test_bpd_iw / iw_samples).</summary>
    IReadOnlyDictionary<string, double> Evaluate(ImageDataset test, long? limit);

    /// <summary>n samples as uint8 images [n, C, H, W]; <paramref name="knob"/> is the temperature or truncation psi.</summary>
    Tensor Sample(int n, double? knob, long seed);

    /// <summary>
    /// Writes the whole training state (modules, EMA copies, optimizers, libtorch's CPU generator) and the CLI's
    /// <paramref name="extra"/> entries to one checkpoint, atomically (<see cref="Workbench.Training.Checkpoint"/>).
    /// </summary>
    void Save(string path, long step, IReadOnlyDictionary<string, string> extra);

    /// <summary>Restores what <see cref="Save"/> wrote; a checkpoint of another model or config is an error naming both.</summary>
    Workbench.Training.CheckpointInfo Load(string path, bool restoreRng);
}
