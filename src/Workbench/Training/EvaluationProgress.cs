namespace Workbench.Training;

/// <summary>
/// Progress and cancellation for held-out evaluations, which can take minutes (diffusion's bound, NVAE's importance
/// weighting): whoever starts one (the command line, a notebook) opens a scope with a report and a cancellation
/// token; <see cref="Data.BatchLoader.Sequential"/> reports the examples done after every batch, and long inner loops
/// call <see cref="ThrowIfCancelled"/>. Cancellation surfaces as <see cref="OperationCanceledException"/>. Scopes are
/// per thread, like dispose scopes; without one, evaluations run as before.
/// </summary>
public static class EvaluationProgress
{
    sealed class Scope(Action<long, long>? report, CancellationToken cancel, Scope? outer) : IDisposable
    {
        public readonly Action<long, long>? Report = report;
        public readonly CancellationToken Cancel = cancel;
        public void Dispose() => current = outer;
    }

    [ThreadStatic] static Scope? current;

    /// <summary>Until disposed, evaluations on this thread call <paramref name="report"/>(examples done, total) and stop
    /// when <paramref name="cancel"/> is cancelled.</summary>
    public static IDisposable Begin(Action<long, long>? report, CancellationToken cancel = default) =>
        current = new Scope(report, cancel, current);

    /// <summary>Reports progress to the current scope and throws when it was cancelled.</summary>
    public static void Report(long done, long total)
    {
        ThrowIfCancelled();
        current?.Report?.Invoke(done, total);
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the current scope was cancelled.</summary>
    public static void ThrowIfCancelled() => current?.Cancel.ThrowIfCancellationRequested();
}
