namespace Workbench.Training;

/// <summary>A loss became NaN or infinite, or exploded: the run stops here, before anything is saved.</summary>
public sealed class TrainingDivergedException(long step, string metric, double value)
    : Exception($"Training diverged at step {step}: {metric} = {value}. Lower the learning rate, lengthen the warm-up " +
                "or clip gradients harder; no checkpoint was written from this step.")
{
    public long Step { get; } = step;
    public string Metric { get; } = metric;
    public double Value { get; } = value;
}
