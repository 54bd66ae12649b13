using Workbench.Data;
using Workbench.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Cli.Families;

/// <summary>
/// What the command line needs from a model family: its config presets, its library trainer built from a config, and
/// how it samples. One adapter per family (Glow/RealNVP/NICE, StyleGAN2, NVAE/VAE) maps this onto the family's own
/// classes, so the library stays free of command-line concerns.
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

    /// <summary>
    /// The config fields (of either record) a resumed run may change without invalidating its checkpoint: learning
    /// rate, schedule, length and evaluation settings. Every other field changes the model's shape or the training
    /// state, and a resume that changes it is refused.
    /// </summary>
    IReadOnlySet<string> ResumeSafe { get; }

    /// <summary>The config record the family's trainer stores in its checkpoints, for a run's config (to check a
    /// checkpoint against run.json before building anything).</summary>
    object CheckpointConfig(RunConfig config);

    /// <summary>
    /// The family's trainer (<see cref="Trainer"/>) for a resolved config, its models built on <paramref name="device"/>
    /// from libtorch's global generator (seed it first).
    /// </summary>
    /// <param name="shape">the images' [C, H, W], as recorded in run.json.</param>
    /// <param name="train">the training set of the trainer's own loader, shuffled with <paramref name="seed"/> (null: for sampling and evaluation).</param>
    /// <param name="test">the held-out set of its run's evaluations.</param>
    Trainer CreateTrainer(RunConfig config, Device device, long[] shape, ImageDataset? train = null, ImageDataset? test = null, long seed = 0);

    /// <summary>n samples as uint8 images [n, C, H, W] from a trainer <see cref="CreateTrainer"/> built, drawn with
    /// libtorch's generator seeded by <paramref name="seed"/> and put back afterwards; <paramref name="knob"/> is the
    /// temperature or truncation psi.</summary>
    Tensor Sample(Trainer trainer, int n, double? knob, long seed);

    /// <summary>The network <see cref="Sample"/> and <see cref="Trainer.Evaluate"/> read (the EMA copy where the family
    /// keeps one): what a zoo model's <c>weights.safetensors</c> holds, built from the model config alone.</summary>
    nn.Module InferenceModule(Trainer trainer);
}
