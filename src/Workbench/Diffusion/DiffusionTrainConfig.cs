namespace Workbench.Diffusion;

/// <summary>
/// Training settings for <see cref="DiffusionTrainer"/>. Defaults are DDPM's CIFAR-10 run (Ho et al. 2020, App. B):
/// Adam at 2e-4 with a 5,000-step linear warm-up, gradient-norm clip 1, EMA of the weights with decay 0.9999, batch
/// 128 (800k steps there; our default total is 3,000, the CPU-sized run of the other families). <see cref="Small"/> shortens
/// the warm-up and the EMA for a few thousand CPU steps.
/// </summary>
public sealed record DiffusionTrainConfig
{
    /// <summary>Total optimizer steps.</summary>
    public long Steps { get; init; } = 3000;

    /// <summary>Batch size of the trainer's own loader.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Adam's rate after warm-up.</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Linear warm-up from 0.</summary>
    public long WarmupSteps { get; init; } = 5000;

    /// <summary>Global gradient-norm clip (null: none).</summary>
    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>Decay of the weights' EMA (the model that evaluates and samples).</summary>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>A row of the training log every this many steps (mean loss over the interval).</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Held-out bound every this many steps in <c>Run</c> (0: only at the end).</summary>
    public long EvalEvery { get; init; } = 0;

    /// <summary>Held-out examples for the bound (null: all; each costs T network evaluations).</summary>
    public long? EvalLimit { get; init; }

    /// <summary>Batch of the held-out bound.</summary>
    public int EvalBatchSize { get; init; } = 100;

    /// <summary>Null: the bound is taken on the first EvalLimit test examples; a seed: on EvalLimit
    /// examples drawn at random without replacement (<see cref="Data.ImageDataset.Sample"/>).</summary>
    [Training.AddedField("null", "on 2026-12-06")]
    public long? EvalSubsetSeed { get; init; }

    /// <summary>Network evaluations per example for the bound: null (or ≥ T) sums all T terms
    /// exactly; fewer estimates the sum over t by stratified sampling (<see cref="VariationalBound.Estimate"/>).</summary>
    [Training.AddedField("null", "on 2026-12-06")]
    public int? BoundEvaluations { get; init; }

    /// <summary>DDIM steps of the default sampler (Song et al. 2021 report 50–100 as close to 1000).</summary>
    public int SampleSteps { get; init; } = 50;

    /// <summary>DDIM's η for the default sampler (0: deterministic).</summary>
    public double SampleEta { get; init; } = 0;

    /// <summary>True: the default sampler is DDPM's ancestral sampler (Algorithm 2, all T steps)
    /// instead of DDIM.</summary>
    public bool SampleAncestral { get; init; } = false;

    /// <summary>An L_simple above this (or NaN) stops the run.</summary>
    public double DivergenceLoss { get; init; } = 100;

    /// <summary>CPU preset: batch 64, Adam at 5e-4 after 100 warm-up steps, EMA decay 0.995 (a half-life of ~140 steps,
    /// so a few thousand steps are not dominated by the initialisation), and a held-out bound that finishes in minutes:
    /// 200 random test images (seed 0) with 100 network evaluations each (the stratified estimate) instead of the whole
    /// test split at T evaluations per image (about a day on one CPU core).</summary>
    public static DiffusionTrainConfig Small => new() { BatchSize = 64, LearningRate = 5e-4, WarmupSteps = 100, EmaDecay = 0.995,
        EvalLimit = 200, EvalSubsetSeed = 0, BoundEvaluations = 100 };
}
