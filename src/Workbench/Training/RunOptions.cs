namespace Workbench.Training;

/// <summary>When a run writes checkpoints, and how (a run folder, a file beside a notebook).</summary>
public interface ICheckpointPolicy
{
    /// <summary>True when a checkpoint is due after <paramref name="step"/> (the run also saves at its last step and when it is cancelled).</summary>
    bool Due(long step);

    /// <summary>Writes the trainer's whole state (<see cref="Trainer.Save"/>).</summary>
    void Save(Trainer trainer);
}

/// <summary>When a run draws samples, and where they go.</summary>
public interface ISamplePolicy
{
    /// <summary>True when samples are due after <paramref name="step"/> (the run also samples after its last step).</summary>
    bool Due(long step);

    void Sample(Trainer trainer, long step);
}

/// <summary>What a <see cref="Trainer.Run(RunOptions, CancellationToken)"/> does besides stepping; every field is optional.</summary>
public sealed record RunOptions
{
    /// <summary>Steps to take (null: until the config's total).</summary>
    public long? Steps { get; init; }

    /// <summary>Stop at this step with a checkpoint but without the final evaluation, the run's end unchanged (null: at the end).</summary>
    public long? Until { get; init; }

    /// <summary>Sees the log after every step or evaluation that added rows (a CSV file, TensorBoard, a live chart).</summary>
    public Action<TrainingLog>? OnLog { get; init; }

    /// <summary>Sees every completed step's number and reported values (a progress bar).</summary>
    public Action<long, IReadOnlyDictionary<string, double>>? OnStep { get; init; }

    public ICheckpointPolicy? Checkpoints { get; init; }

    public ISamplePolicy? Samples { get; init; }

    /// <summary>Held-out examples each evaluation uses (null: the config's).</summary>
    public long? EvalLimit { get; init; }

    /// <summary>Evaluate on the held-out set after the last step (false: the caller does, with its own progress).</summary>
    public bool FinalEvaluation { get; init; } = true;
}

/// <summary>How a run ended.</summary>
public enum RunEnd
{
    /// <summary>It took every step of its length.</summary>
    Finished,

    /// <summary>It stopped at <see cref="RunOptions.Until"/>.</summary>
    Stopped,

    /// <summary>The cancellation token stopped it (during a step's evaluation, or between steps); a checkpoint was saved.</summary>
    Cancelled,
}
