using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The mode-collapse experiment on a 2-D mixture (the unrolled-GAN, VEEGAN and WGAN-GP toy protocol): one of the
/// lineage's variants trained on <see cref="GaussianMixtureToy"/> points with the <see cref="GanConfig.Toy"/> MLPs, scored
/// by <see cref="ModeCoverage"/> on 2,500 samples. The variants share the networks, batch 256 and the Adam learning
/// rate (1e-3 by default: the papers' 1e-4 needs the 10⁵ iterations of WGAN-GP's toy runs); they differ in what the
/// lineage changed: <c>gan</c> the minimax G loss (β1 0.5), <c>ns-gan</c> the non-saturating one, <c>sn-gan</c> the
/// non-saturating loss with a spectrally normalised D, <c>wgan-gp</c> the critic with λ = 10 and n_critic 5 (β (0.5,
/// 0.9) as in WGAN-GP's toy code).
/// </summary>
public static class GanToyExperiment
{
    public static readonly string[] Variants = { "gan", "ns-gan", "wgan-gp", "sn-gan" };

    /// <summary>The networks and training of a variant at Adam learning rate <paramref name="lr"/>.</summary>
    public static (GanConfig Model, GanTrainConfig Training) Settings(string variant, long steps, double lr = 1e-3)
    {
        var toy = GanConfig.Toy;
        var common = GanTrainConfig.Gan with { Steps = steps, BatchSize = 256, LearningRate = lr, LogEvery = 0 };
        return variant.ToLowerInvariant() switch
        {
            "gan" => (toy with { Loss = GanLoss.Minimax }, common),
            "ns-gan" => (toy with { Loss = GanLoss.NonSaturating }, common),
            "sn-gan" => (toy with { Loss = GanLoss.NonSaturating, SpectralNorm = true }, common),
            "wgan-gp" => (toy with { Loss = GanLoss.Wasserstein }, GanTrainConfig.WganGp with { Steps = steps, BatchSize = 256, LearningRate = lr, Beta1 = 0.5, LogEvery = 0 }),
            _ => throw new ArgumentException($"Unknown GAN toy variant '{variant}': {string.Join(", ", Variants)}.", nameof(variant)),
        };
    }

    /// <summary>
    /// Trains a variant from seed <paramref name="seed"/> (libtorch's global generator: networks and data) and returns
    /// the final <see cref="ModeReport"/>; <paramref name="progress"/> sees the report every <paramref name="every"/> steps.
    /// </summary>
    public static ModeReport Run(string variant, GaussianMixtureToy toy, long seed, long steps, long every = 0,
        Action<long, ModeReport>? progress = null, double lr = 1e-3)
    {
        var (model, training) = Settings(variant, steps, lr);
        Seeding.Set(seed);
        var (g, d) = GanModels.Create(model);
        using var trainer = new GanTrainer(g, d, training, toy);
        for (long s = 1; s <= steps; s++)
        {
            trainer.TrainStepOn();
            if (every > 0 && s % every == 0 && s < steps) progress?.Invoke(s, trainer.Modes(toy));
        }
        var final = trainer.Modes(toy);
        progress?.Invoke(steps, final);
        g.Dispose(); d.Dispose();
        return final;
    }
}
