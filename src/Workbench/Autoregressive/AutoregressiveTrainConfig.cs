namespace Workbench.Autoregressive;

/// <summary>
/// Training settings of the pixel models (<see cref="AutoregressiveTrainer"/>), with PixelCNN++'s released defaults (Salimans
/// et al. 2017, Section 3): Adam at 1e-3 decayed by 0.999995 every step, Polyak averaging of the weights with 0.9995 for
/// evaluation and sampling. <see cref="Small"/> is a CPU preset. An ablation is one <c>with { … }</c>.
/// </summary>
public sealed record AutoregressiveTrainConfig
{
    /// <summary>Optimizer steps.</summary>
    public long Steps { get; init; } = 5000;
    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam's learning rate at step 0.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Multiplies the learning rate every step (exponential decay; 1: constant).</summary>
    public double LearningRateDecay { get; init; } = 0.999995;
    /// <summary>Gradient-norm clipping (null: none).</summary>
    public double? MaxGradNorm { get; init; }
    /// <summary>Polyak (EMA) decay of the weights that evaluation and sampling use (null: the trained weights themselves).</summary>
    public double? EmaDecay { get; init; } = 0.9995;
    /// <summary>A log row of interval means every this many steps.</summary>
    public int LogEvery { get; init; } = 50;
    /// <summary>Held-out bits/dim every this many steps (0: only at the end).</summary>
    public long EvalEvery { get; init; } = 500;
    /// <summary>Held-out images per evaluation (null: the whole test set).</summary>
    public long? EvalLimit { get; init; }
    /// <summary>Images per evaluation batch.</summary>
    public int EvalBatchSize { get; init; } = 250;
    /// <summary>A step whose training bits/dim exceed this throws (the run has diverged).</summary>
    public double DivergenceBpd { get; init; } = 50;

    /// <summary>A CPU preset: a faster decay of the averaged weights (half-life ≈ 350 steps) for runs of a few thousand steps.</summary>
    public static AutoregressiveTrainConfig Small => new() { Steps = 3000, EmaDecay = 0.998, EvalLimit = 2000 };
}
