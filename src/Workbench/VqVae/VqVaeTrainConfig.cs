namespace Workbench.VqVae;

/// <summary>
/// Training settings for <see cref="VqVaeTrainer"/>: one run of <see cref="Steps"/> steps in two stages, the VQ-VAE
/// first and then the <see cref="CodePrior"/> on the frozen encoder's codes (the paper trains the prior after the
/// VQ-VAE, Section 3.3). Defaults follow the paper's CIFAR-10 run where it gives them (Section 4.1: Adam at 2e-4, batch
/// 128; 250k steps there, our default total is the CPU-sized 3,000); the prior's rate is ours. <see cref="Small"/> is a
/// CPU preset.
/// </summary>
public sealed record VqVaeTrainConfig
{
    /// <summary>Total steps of both stages.</summary>
    public long Steps { get; init; } = 3000;

    /// <summary>The share of <see cref="Steps"/> spent on the prior (stage 2); the first
    /// Steps − round(Steps · PriorFraction) steps train the VQ-VAE.</summary>
    public double PriorFraction { get; init; } = 0.5;

    /// <summary>Steps of stage 1 fixed at the start of a run (null: from <see cref="PriorFraction"/> and <see cref="Steps"/>).
    /// The command line sets it when a run starts, so a resumed run that changes <see cref="Steps"/> keeps its split.</summary>
    public long? AutoencoderStepCount { get; init; }

    /// <summary>Batch size of the trainer's own loader (both stages).</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Adam's rate for the VQ-VAE (constant).</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Adam's rate for the prior (constant).</summary>
    public double PriorLearningRate { get; init; } = 3e-4;

    /// <summary>Global gradient-norm clip (null: none, as the paper).</summary>
    public double? MaxGradNorm { get; init; }

    /// <summary>A row of the training log every this many steps.</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Held-out metrics every this many steps in <c>Run</c> (0: only at the end).</summary>
    public long EvalEvery { get; init; } = 0;

    /// <summary>Held-out examples evaluated (null: all).</summary>
    public long? EvalLimit { get; init; }

    /// <summary>Batch of the held-out evaluation.</summary>
    public int EvalBatchSize { get; init; } = 250;

    /// <summary>A loss above this (or NaN) stops the run.</summary>
    public double DivergenceLoss { get; init; } = 1000;

    /// <summary>CPU preset: batch 64, Adam at 1e-3 for both stages, held-out metrics on 1,000 test images.</summary>
    public static VqVaeTrainConfig Small => new() { BatchSize = 64, LearningRate = 1e-3, PriorLearningRate = 1e-3, EvalLimit = 1000 };

    /// <summary>Steps of stage 1 (the VQ-VAE): <see cref="AutoencoderStepCount"/>, else
    /// Steps − round(Steps · PriorFraction).</summary>
    public long AutoencoderSteps() => AutoencoderStepCount ?? Steps - (long)Math.Round(Steps * PriorFraction);
}
