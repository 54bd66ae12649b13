using TorchSharp;

namespace Workbench.Training;

/// <summary>
/// Learning-rate schedules as pure functions of the step (0-based: the value for the step about to be taken), and
/// <see cref="SetLearningRate"/> to apply one to an optimizer before each step. Warm-up is linear and reaches the
/// base rate at step <c>warmupSteps − 1</c> (step 0 already moves, at <c>lr / warmupSteps</c>), as Glow and NVAE warm up.
/// </summary>
public static class Schedules
{
    /// <summary>The same rate at every step.</summary>
    public static double Constant(long step, double lr) => lr;

    /// <summary>Linear warm-up: <c>lr · min(1, (step + 1) / warmupSteps)</c>; no warm-up when warmupSteps ≤ 0.</summary>
    public static double LinearWarmup(long step, double lr, long warmupSteps)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be non-negative");
        return warmupSteps <= 0 ? lr : lr * Math.Min(1.0, (step + 1) / (double)warmupSteps);
    }

    /// <summary>
    /// Linear warm-up to <paramref name="lr"/>, then a cosine decay from <paramref name="lr"/> at step
    /// <paramref name="warmupSteps"/> to <paramref name="floorLr"/> at <paramref name="totalSteps"/>, and the floor after
    /// (when the run is no longer than the warm-up, the decay takes one step: <paramref name="floorLr"/> from
    /// <c>warmupSteps + 1</c> on).
    /// </summary>
    public static double WarmupCosine(long step, double lr, long warmupSteps, long totalSteps, double floorLr = 0)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be non-negative");
        warmupSteps = Math.Max(0, warmupSteps);
        if (step < warmupSteps) return LinearWarmup(step, lr, warmupSteps);
        double t = Math.Min(1.0, (step - warmupSteps) / (double)Math.Max(1, totalSteps - warmupSteps));
        return floorLr + 0.5 * (lr - floorLr) * (1 + Math.Cos(Math.PI * t));
    }

    /// <summary>Sets the learning rate of every parameter group of an optimizer.</summary>
    public static void SetLearningRate(torch.optim.Optimizer optimizer, double lr)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!(lr >= 0) || double.IsInfinity(lr)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be finite and non-negative");
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
    }

    /// <summary>The learning rate of the optimizer's first parameter group.</summary>
    public static double GetLearningRate(torch.optim.Optimizer optimizer) => optimizer.ParamGroups.First().LearningRate;
}
