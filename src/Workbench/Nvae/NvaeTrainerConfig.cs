namespace Workbench.Nvae;

/// <summary>
/// Training settings for <see cref="NvaeTrainer"/> (NVAE's code: Adamax, LR 1e-2 with linear warm-up then cosine
/// decay, KL warm-up over 30% of training from 1e-4, KL balancing on, spectral regularisation λ = 1e-2 annealed from
/// a larger λ_init during warm-up; Appendix / code defaults — our CPU preset shortens everything).
/// </summary>
/// <param name="Steps">total optimizer steps (the LR and KL schedules are defined over this).</param>
/// <param name="LearningRate">peak LR after warm-up.</param>
/// <param name="MinLearningRate">LR at the end of the cosine decay.</param>
/// <param name="WarmupSteps">linear LR warm-up from 0.</param>
/// <param name="WeightDecay">Adamax weight decay (NVAE uses 3e-4).</param>
/// <param name="MaxGradNorm">global gradient-norm clip (null: no clipping).</param>
/// <param name="KlAnnealFraction">fraction of <paramref name="Steps"/> over which β ramps to 1.</param>
/// <param name="KlConstFraction">fraction at the start during which β stays at its minimum.</param>
/// <param name="KlMinCoefficient">minimum β.</param>
/// <param name="KlBalance">balance the groups' KL coefficients while β &lt; 1.</param>
/// <param name="SpectralLambda">λ of the spectral regularisation (0 turns it off).</param>
/// <param name="SpectralLambdaInit">λ at the start of KL warm-up, annealed log-linearly to λ as β goes to 1 (null: constant λ).</param>
/// <param name="PowerIterations">power-iteration steps per training step (4, as NVAE's code).</param>
/// <param name="ActiveUnitThreshold">a latent variable is active when its batch-mean KL exceeds this (nats).</param>
/// <param name="BatchSize">batch size of the trainer's own loader (when it is given a training set).</param>
/// <param name="LogEvery">log a row of training metrics every this many steps (0: never).</param>
/// <param name="IwSamples">importance samples of the held-out bound in <c>Evaluate</c>.</param>
public sealed record NvaeTrainerConfig(
    long Steps = 3000,
    double LearningRate = 1e-2,
    double MinLearningRate = 1e-4,
    long WarmupSteps = 200,
    double WeightDecay = 3e-4,
    double? MaxGradNorm = 200,
    double KlAnnealFraction = 0.3,
    double KlConstFraction = 0.0001,
    double KlMinCoefficient = 1e-4,
    bool KlBalance = true,
    double SpectralLambda = 1e-2,
    double? SpectralLambdaInit = null,
    int PowerIterations = 4,
    double ActiveUnitThreshold = 0.1,
    int BatchSize = 64,
    int LogEvery = 1,
    int IwSamples = 20);
