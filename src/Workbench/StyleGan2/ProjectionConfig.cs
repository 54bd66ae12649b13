namespace Workbench.StyleGan2;

/// <summary>
/// Settings of the projection of images into W (StyleGAN2 §5 and its appendix D): the defaults are the paper's
/// (1,000 Adam steps at learning rate 0.1 with a 5% warm-up and a cosine ramp-down over the last 25%, Gaussian noise on
/// w starting at 0.05·σ_w and ramped to 0 over the first 75%, noise regularisation weight 1e5, w_avg and σ_w from
/// 10,000 samples); <see cref="Small"/> is the CPU preset.
/// </summary>
public sealed record ProjectionConfig
{
    /// <summary>Adam steps per projection.</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>The peak learning rate.</summary>
    public double InitialLearningRate { get; init; } = 0.1;

    /// <summary>Fraction of the steps of the linear warm-up.</summary>
    public double LrRampupLength { get; init; } = 0.05;

    /// <summary>Fraction of the steps of the cosine ramp-down at the end.</summary>
    public double LrRampdownLength { get; init; } = 0.25;

    /// <summary>The noise on w at the start, relative to σ_w.</summary>
    public double InitialNoiseFactor { get; init; } = 0.05;

    /// <summary>Fraction of the steps over which that noise falls (quadratically) to zero.</summary>
    public double NoiseRampLength { get; init; } = 0.75;

    /// <summary>Weight of the noise maps' autocorrelation penalty.</summary>
    public double RegularizeNoiseWeight { get; init; } = 1e5;

    /// <summary>Weight of the per-pixel mean squared error (images in [−1, 1]) beside the perceptual
    /// distance: ours, the paper uses LPIPS alone.</summary>
    public double PixelWeight { get; init; } = 1.0;

    /// <summary>Samples of f(z) for w_avg and σ_w.</summary>
    public int WAvgSamples { get; init; } = 10_000;

    /// <summary>Side the ResNet-18 distance sees (<see cref="Metrics.ResNet18Network"/>; 224 = the metric's).</summary>
    public int FeatureSide { get; init; } = 224;

    /// <summary>The CPU preset: 200 steps, w statistics from 2,000 samples, the distance at 128×128.</summary>
    public static ProjectionConfig Small => new() { Steps = 200, WAvgSamples = 2_000, FeatureSide = 128 };

    /// <summary>The learning rate at fraction <paramref name="t"/> of the steps: a linear warm-up times a cosine ramp-down.</summary>
    public double LearningRate(double t)
    {
        double down = Math.Min(1.0, (1.0 - t) / LrRampdownLength);
        double ramp = 0.5 - 0.5 * Math.Cos(down * Math.PI);
        return InitialLearningRate * ramp * Math.Min(1.0, t / LrRampupLength);
    }

    /// <summary>The standard deviation of the noise added to w at fraction <paramref name="t"/> of the steps, relative to σ_w.</summary>
    public double WNoiseFactor(double t) => InitialNoiseFactor * Math.Pow(Math.Max(0.0, 1.0 - t / NoiseRampLength), 2);
}
