namespace Workbench.Nvae;

/// <summary>
/// Training settings for <see cref="NvaeTrainer"/> (NVAE's code: Adamax, LR 1e-2 with linear warm-up then cosine
/// decay, KL warm-up over 30% of training from 1e-4, KL balancing on, spectral regularisation λ = 1e-2 annealed from
/// a larger λ_init during warm-up; Appendix / code defaults — our CPU preset shortens everything).
/// </summary>
public sealed record NvaeTrainConfig
{
    /// <summary>Total optimizer steps (the LR and KL schedules are defined over this).</summary>
    public long Steps { get; init; } = 3000;

    /// <summary>Peak LR after warm-up.</summary>
    public double LearningRate { get; init; } = 1e-2;

    /// <summary>LR at the end of the cosine decay.</summary>
    public double MinLearningRate { get; init; } = 1e-4;

    /// <summary>Linear LR warm-up from 0.</summary>
    public long WarmupSteps { get; init; } = 200;

    /// <summary>Adamax weight decay (NVAE uses 3e-4).</summary>
    public double WeightDecay { get; init; } = 3e-4;

    /// <summary>Global gradient-norm clip (null: no clipping).</summary>
    public double? MaxGradNorm { get; init; } = 200;

    /// <summary>Fraction of <see cref="Steps"/> over which β ramps to 1.</summary>
    public double KlAnnealFraction { get; init; } = 0.3;

    /// <summary>Fraction at the start during which β stays at its minimum.</summary>
    public double KlConstFraction { get; init; } = 0.0001;

    /// <summary>Minimum β.</summary>
    public double KlMinCoefficient { get; init; } = 1e-4;

    /// <summary>Balance the groups' KL coefficients while β &lt; 1.</summary>
    public bool KlBalance { get; init; } = true;

    /// <summary>λ of the spectral regularisation (0 turns it off).</summary>
    public double SpectralLambda { get; init; } = 1e-2;

    /// <summary>λ at the start of KL warm-up, annealed log-linearly to λ as β goes to 1 (null: constant λ).</summary>
    public double? SpectralLambdaInit { get; init; }

    /// <summary>Power-iteration steps per training step (4, as NVAE's code).</summary>
    public int PowerIterations { get; init; } = 4;

    /// <summary>A latent variable is active when its batch-mean KL exceeds this (nats).</summary>
    public double ActiveUnitThreshold { get; init; } = 0.1;

    /// <summary>Batch size of the trainer's own loader (when it is given a training set).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Log a row of training metrics every this many steps (0: never).</summary>
    public int LogEvery { get; init; } = 1;

    /// <summary>Importance samples of the held-out bound in <c>Evaluate</c>.</summary>
    public int IwSamples { get; init; } = 20;
}
