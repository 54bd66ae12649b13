namespace Workbench.Diffusion;

/// <summary>
/// Training settings for <see cref="DiffusionTrainer"/>. Defaults are DDPM's CIFAR-10 run (Ho et al. 2020, App. B):
/// Adam at 2e-4 with a 5,000-step linear warm-up, gradient-norm clip 1, EMA of the weights with decay 0.9999, batch
/// 128 (800k steps there; our default total is 3,000, the CPU-sized run of the other families). <see cref="Small"/> shortens
/// the warm-up and the EMA for a few thousand CPU steps.
/// </summary>
/// <param name="Steps">total optimizer steps.</param>
/// <param name="BatchSize">batch size of the trainer's own loader.</param>
/// <param name="LearningRate">Adam's rate after warm-up.</param>
/// <param name="WarmupSteps">linear warm-up from 0.</param>
/// <param name="MaxGradNorm">global gradient-norm clip (null: none).</param>
/// <param name="EmaDecay">decay of the weights' EMA (the model that evaluates and samples).</param>
/// <param name="LogEvery">a row of the training log every this many steps (mean loss over the interval).</param>
/// <param name="EvalEvery">held-out bound every this many steps in <c>Run</c> (0: only at the end).</param>
/// <param name="EvalLimit">held-out examples for the bound (null: all; each costs T network evaluations).</param>
/// <param name="EvalBatchSize">batch of the held-out bound.</param>
/// <param name="EvalSubsetSeed">null: the bound is taken on the first EvalLimit test examples; a seed: on EvalLimit
/// examples drawn at random without replacement (<see cref="Data.ImageDataset.Sample"/>).</param>
/// <param name="BoundEvaluations">network evaluations per example for the bound: null (or ≥ T) sums all T terms
/// exactly; fewer estimates the sum over t by stratified sampling (<see cref="VariationalBound.Estimate"/>).</param>
/// <param name="SampleSteps">DDIM steps of the default sampler (Song et al. 2021 report 50–100 as close to 1000).</param>
/// <param name="SampleEta">DDIM's η for the default sampler (0: deterministic).</param>
/// <param name="SampleAncestral">true: the default sampler is DDPM's ancestral sampler (Algorithm 2, all T steps)
/// instead of DDIM.</param>
/// <param name="DivergenceLoss">an L_simple above this (or NaN) stops the run.</param>
public sealed record DiffusionTrainConfig(
    long Steps = 3000,
    int BatchSize = 128,
    double LearningRate = 2e-4,
    long WarmupSteps = 5000,
    double? MaxGradNorm = 1.0,
    double EmaDecay = 0.9999,
    int LogEvery = 10,
    long EvalEvery = 0,
    long? EvalLimit = null,
    int EvalBatchSize = 100,
    [property: Training.AddedField("null", "on 2026-12-06")] long? EvalSubsetSeed = null,
    [property: Training.AddedField("null", "on 2026-12-06")] int? BoundEvaluations = null,
    int SampleSteps = 50,
    double SampleEta = 0,
    bool SampleAncestral = false,
    double DivergenceLoss = 100)
{
    /// <summary>CPU preset: batch 64, Adam at 5e-4 after 100 warm-up steps, EMA decay 0.995 (a half-life of ~140 steps,
    /// so a few thousand steps are not dominated by the initialisation), and a held-out bound that finishes in minutes:
    /// 200 random test images (seed 0) with 100 network evaluations each (the stratified estimate) instead of the whole
    /// test split at T evaluations per image (about a day on one CPU core).</summary>
    public static DiffusionTrainConfig Small => new(BatchSize: 64, LearningRate: 5e-4, WarmupSteps: 100, EmaDecay: 0.995,
        EvalLimit: 200, EvalSubsetSeed: 0, BoundEvaluations: 100);
}
