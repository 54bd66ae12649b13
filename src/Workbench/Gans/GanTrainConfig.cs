namespace Workbench.Gans;

/// <summary>The optimizer of both networks: Adam (DCGAN, WGAN-GP) or RMSProp (WGAN, Algorithm 1).</summary>
public enum GanOptimizer { Adam, RmsProp }

/// <summary>
/// How a GAN trains (<see cref="GanTrainer"/>). One step is one generator update after <see cref="NCritic"/>
/// discriminator updates. The defaults are DCGAN's (Radford et al. 2016, Section 4: Adam, lr 2e-4, β1 0.5, batch 128);
/// <see cref="Gan"/>, <see cref="Dcgan"/>, <see cref="Wgan"/> and <see cref="WganGp"/> are the papers' settings.
/// </summary>
public sealed record GanTrainConfig
{
    /// <summary>Generator steps (each after NCritic discriminator steps).</summary>
    public long Steps { get; init; } = 5000;
    public int BatchSize { get; init; } = 128;
    /// <summary>A row of the training log (the interval's means) every this many steps.</summary>
    public int LogEvery { get; init; } = 50;
    /// <summary>On a 2-D toy, the mode metrics of 2,500 samples every this many steps (0: never during training).</summary>
    public long EvalEvery { get; init; }

    public GanOptimizer Optimizer { get; init; } = GanOptimizer.Adam;
    /// <summary>The generator's learning rate.</summary>
    public double LearningRate { get; init; } = 2e-4;
    /// <summary>The discriminator's learning rate (null: <see cref="LearningRate"/>; SAGAN's TTUR uses 4e-4 vs 1e-4).</summary>
    public double? DiscriminatorLearningRate { get; init; }
    public double Beta1 { get; init; } = 0.5;
    public double Beta2 { get; init; } = 0.999;
    /// <summary>RMSProp's smoothing constant α (WGAN's code: PyTorch's default 0.99).</summary>
    public double RmsPropAlpha { get; init; } = 0.99;

    /// <summary>Discriminator (critic) steps per generator step (Goodfellow's k; WGAN's n_critic).</summary>
    public int NCritic { get; init; } = 1;
    /// <summary>λ of the gradient penalty λ·E(‖∇D(x̂)‖ − 1)² at random interpolates x̂ (WGAN-GP, Eq. 3); 0: off.</summary>
    public double GradientPenalty { get; init; }
    /// <summary>Clip every parameter of D to [−c, c] after each of its steps (WGAN, Algorithm 1); null: off.</summary>
    public double? WeightClip { get; init; }

    /// <summary>The GAN of Goodfellow et al. 2014 (Algorithm 1 with k = 1). The paper used SGD with momentum; Adam
    /// with DCGAN's settings is what every later comparison uses.</summary>
    public static GanTrainConfig Gan => new() { NCritic = 1 };

    /// <summary>DCGAN (Section 4): Adam lr 2e-4, β1 0.5, batch 128.</summary>
    public static GanTrainConfig Dcgan => new();

    /// <summary>WGAN (Algorithm 1): RMSProp lr 5e-5, clipping c = 0.01, n_critic 5, batch 64.</summary>
    public static GanTrainConfig Wgan => new()
    {
        Optimizer = GanOptimizer.RmsProp, LearningRate = 5e-5, WeightClip = 0.01, NCritic = 5, BatchSize = 64,
    };

    /// <summary>WGAN-GP (Algorithm 1): Adam lr 1e-4, β = (0, 0.9), λ = 10, n_critic 5, batch 64.</summary>
    public static GanTrainConfig WganGp => new()
    {
        LearningRate = 1e-4, Beta1 = 0, Beta2 = 0.9, GradientPenalty = 10, NCritic = 5, BatchSize = 64,
    };

    /// <summary>The discriminator's learning rate in effect.</summary>
    public double DLearningRate => DiscriminatorLearningRate ?? LearningRate;

    /// <summary>Throws with a message naming the bad field.</summary>
    public void Validate()
    {
        if (Steps < 0) throw new ArgumentException($"GanTrainConfig.Steps must be >= 0, got {Steps}");
        if (BatchSize < 1) throw new ArgumentException($"GanTrainConfig.BatchSize must be >= 1, got {BatchSize}");
        if (NCritic < 1) throw new ArgumentException($"GanTrainConfig.NCritic must be >= 1, got {NCritic}");
        if (GradientPenalty < 0) throw new ArgumentException($"GanTrainConfig.GradientPenalty must be >= 0, got {GradientPenalty}");
        if (WeightClip is <= 0) throw new ArgumentException($"GanTrainConfig.WeightClip must be > 0 (null: off), got {WeightClip}");
        if (LearningRate <= 0 || DLearningRate <= 0) throw new ArgumentException($"GanTrainConfig: learning rates must be > 0, got {LearningRate}, {DLearningRate}");
        if (LogEvery < 0 || EvalEvery < 0) throw new ArgumentException($"GanTrainConfig: LogEvery and EvalEvery must be >= 0, got {LogEvery}, {EvalEvery}");
    }
}
