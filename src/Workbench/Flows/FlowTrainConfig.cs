namespace Workbench.Flows;

/// <summary>Glow trained with Adam (α = 0.001) or Adamax (its code's default).</summary>
public enum FlowOptimizer { Adam, Adamax }

/// <summary>
/// Training settings for <see cref="FlowTrainer"/>. Defaults are a CPU-sized run: 3,000 steps of
/// batch 64, Adam 1e-3 with a 200-step linear warm-up (Glow warms up over its first epochs), gradient-norm
/// clipping, held-out bits/dim on the full test set every 500 steps.
/// </summary>
public sealed record FlowTrainConfig
{
    public long Steps { get; init; } = 3000;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up of the learning rate from 0 over this many steps.</summary>
    public long WarmupSteps { get; init; } = 200;
    public FlowOptimizer Optimizer { get; init; } = FlowOptimizer.Adam;
    /// <summary>Clip the global gradient norm to this value (null: no clipping).</summary>
    public double? MaxGradNorm { get; init; } = 100;
    /// <summary>Log the (smoothed over the interval) train bits/dim every this many steps.</summary>
    public int LogEvery { get; init; } = 50;
    /// <summary>Held-out bits/dim every this many steps and at the end (0: only at the end).</summary>
    public long EvalEvery { get; init; } = 500;
    /// <summary>Held-out examples evaluated (null: the whole test set).</summary>
    public long? EvalLimit { get; init; }
    public int EvalBatchSize { get; init; } = 500;
    /// <summary>A train bits/dim above this (or NaN) stops the run with <see cref="Workbench.Training.TrainingDivergedException"/>.</summary>
    public double DivergenceBpd { get; init; } = 50;
    /// <summary>Polyak averaging of the weights for evaluation (e.g. 0.999); null: off.</summary>
    public double? EmaDecay { get; init; }

    /// <summary>A smoke-test budget: 200 steps, evaluation on 1,000 held-out images.</summary>
    public static FlowTrainConfig Quick => new() { Steps = 200, WarmupSteps = 50, LogEvery = 20, EvalEvery = 100, EvalLimit = 1000 };
}
