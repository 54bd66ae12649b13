using System.Runtime.InteropServices;

namespace Workbench.Cli;

/// <summary>Ctrl-C and SIGTERM as a cancellation token for commands without a checkpoint to write (eval, sample):
/// the work in progress stops at its next batch and the command exits 130 with one line.</summary>
public sealed class Interruption : IDisposable
{
    readonly CancellationTokenSource source = new();
    readonly PosixSignalRegistration term;
    readonly ConsoleCancelEventHandler onCancel;

    public Interruption()
    {
        onCancel = (_, e) => { e.Cancel = true; source.Cancel(); };
        Console.CancelKeyPress += onCancel;
        term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; source.Cancel(); });
    }

    public CancellationToken Token => source.Token;

    /// <summary>Runs <paramref name="body"/>; an <see cref="OperationCanceledException"/> after an interruption becomes
    /// "interrupted" on stderr and exit code 130.</summary>
    public static int Run(string command, Func<CancellationToken, int> body)
    {
        using var interruption = new Interruption();
        try { return body(interruption.Token); }
        catch (OperationCanceledException) when (interruption.Token.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{command}: interrupted; nothing was written");
            return 130;
        }
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= onCancel;
        term.Dispose();
        source.Dispose();
    }
}
