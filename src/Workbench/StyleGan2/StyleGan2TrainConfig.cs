using Workbench.Training;

namespace Workbench.StyleGan2;

/// <summary>
/// How a StyleGAN2 trains (<see cref="StyleGan2Trainer"/>; the networks are <see cref="StyleGan2Config"/>). The defaults
/// are the paper's config F (Karras et al. 2020, Appendix B): R1 γ = 10 every 16 D steps, path length weight 2 every
/// 4 G steps, style mixing 0.9, Adam lr 0.002 β = (0, 0.99), batch 32, G EMA half-life 10 kimg. <see cref="Small"/> is
/// the CPU preset of <see cref="StyleGan2Config.Small"/>.
/// </summary>
public sealed record StyleGan2TrainConfig
{
    /// <summary>Training iterations (one G and one D step each); the learning rate is constant.</summary>
    public long Steps { get; init; } = 3000;

    /// <summary>A row of the training log (the means of the interval's values) every this many iterations.</summary>
    public int LogEvery { get; init; } = 1;

    /// <summary>γ of the R1 penalty (γ/2)·E‖∇D(x)‖² on the reals (Section 3.1).</summary>
    public double R1Gamma { get; init; } = 10.0;
    /// <summary>Lazy R1: every this many D steps (Section 3.1); 0 disables R1.</summary>
    public int R1Interval { get; init; } = 16;
    /// <summary>Weight of the path length penalty (Section 3.2).</summary>
    public double PathLengthWeight { get; init; } = 2.0;
    /// <summary>Lazy path length regularisation: every this many G steps; 0 disables it.</summary>
    public int PathLengthInterval { get; init; } = 4;
    /// <summary>Decay of the running mean of path lengths, the penalty's target.</summary>
    public double PathLengthDecay { get; init; } = 0.01;
    /// <summary>false (the official code): the penalty's target is the updated running mean a + decay·(mean(l) − a),
    /// which carries gradient through mean(l); true: the target is a constant.</summary>
    [AddedField("true", "on 2026-12-06")]
    public bool PathLengthDetachMean { get; init; } = false;
    /// <summary>The path-length pass uses batch / this (the official code's pl_batch_shrink).</summary>
    public int PathLengthBatchShrink { get; init; } = 2;
    /// <summary>Probability that a batch mixes the styles of two latents at a random layer.</summary>
    public double MixingProbability { get; init; } = 0.9;

    /// <summary>Adam's learning rate for G and D (before the lazy-regularisation correction).</summary>
    public double LearningRate { get; init; } = 0.002;
    /// <summary>Adam's β1.</summary>
    public double Beta1 { get; init; } = 0.0;
    /// <summary>Adam's β2.</summary>
    public double Beta2 { get; init; } = 0.99;
    /// <summary>Adam's ε.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Images per G and D step (the trainer's own loader's batch).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Half-life of the generator EMA, in thousands of images.</summary>
    public double EmaHalfLifeKimg { get; init; } = 10.0;
    /// <summary>If set, the half-life is at most this fraction of the images seen so far (the official ema_rampup).</summary>
    public double? EmaRampup { get; init; }

    /// <summary>The CPU preset: batch 16, γ = 0.1 (the official small-resolution range), EMA half-life 10 kimg ramped up
    /// over the first images.</summary>
    public static StyleGan2TrainConfig Small => new()
    {
        R1Gamma = 0.1,
        BatchSize = 16,
        EmaHalfLifeKimg = 10.0,
        EmaRampup = 0.05,
    };

    /// <summary>Throws with a message naming the bad field.</summary>
    public void Validate()
    {
        if (Steps < 0) throw new ArgumentException($"StyleGan2TrainConfig.Steps must be >= 0, got {Steps}");
        if (BatchSize < 1) throw new ArgumentException($"StyleGan2TrainConfig.BatchSize must be >= 1, got {BatchSize}");
        if (R1Interval < 0 || PathLengthInterval < 0)
            throw new ArgumentException($"StyleGan2TrainConfig: intervals must be >= 0 (0 disables), got R1Interval={R1Interval}, PathLengthInterval={PathLengthInterval}");
        if (PathLengthBatchShrink < 1) throw new ArgumentException($"StyleGan2TrainConfig.PathLengthBatchShrink must be >= 1, got {PathLengthBatchShrink}");
        if (MixingProbability is < 0 or > 1) throw new ArgumentException($"StyleGan2TrainConfig.MixingProbability must be in [0, 1], got {MixingProbability}");
    }
}
