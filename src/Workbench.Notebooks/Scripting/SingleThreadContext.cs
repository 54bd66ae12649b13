using System.Collections.Concurrent;

namespace Workbench.Notebooks.Scripting;

/// <summary>
/// Keeps a whole notebook on one thread. TorchSharp's dispose scopes (and the CUDA context of a cell) are
/// per thread, and Roslyn would otherwise resume a cell's code after an <c>await</c> on any pool thread;
/// with this context installed, continuations come back to the notebook's thread, which pumps them while
/// it waits for the cell to finish.
/// </summary>
internal sealed class SingleThreadContext : SynchronizationContext
{
    readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();
    readonly int _threadId = Environment.CurrentManagedThreadId;

    public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

    public override void Send(SendOrPostCallback d, object? state)
    {
        if (Environment.CurrentManagedThreadId == _threadId) { d(state); return; }
        using var done = new ManualResetEventSlim();
        Exception? error = null;
        Post(_ =>
        {
            try { d(state); }
            catch (Exception e) { error = e; }
            finally { done.Set(); }
        }, null);
        done.Wait();
        if (error is not null) throw error;
    }

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Runs posted work on this thread until <paramref name="task"/> completes, then returns its result.</summary>
    public T Run<T>(Func<Task<T>> start)
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            var task = start();
            // Wake the loop when the task completes, whichever thread completes it.
            task.ContinueWith(_ => _queue.Add((static _ => { }, null)), TaskScheduler.Default);
            while (!task.IsCompleted)
            {
                var (callback, state) = _queue.Take();
                callback(state);
            }
            return task.GetAwaiter().GetResult();
        }
        finally { SetSynchronizationContext(previous); }
    }
}
