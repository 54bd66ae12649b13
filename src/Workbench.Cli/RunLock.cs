using System.Globalization;

namespace Workbench.Cli;

/// <summary>
/// The lock a training process holds on its run folder: an exclusive OS lock on <c>&lt;run&gt;/.lock</c> (flock on
/// Linux and macOS, a share-none handle on Windows), taken before anything in the folder is written and held until
/// the process ends. The OS drops it when the process dies, even by SIGKILL, so a killed run can be resumed at once.
/// The holder's PID, host and start time are written to <c>&lt;run&gt;/.lock.owner</c> for the error a second process gets.
/// </summary>
public sealed class RunLock : IDisposable
{
    readonly FileStream _handle;
    readonly string _ownerPath;

    RunLock(FileStream handle, string ownerPath) => (_handle, _ownerPath) = (handle, ownerPath);

    public static string LockPath(string run) => Path.Combine(run, ".lock");
    public static string OwnerPath(string run) => Path.Combine(run, ".lock.owner");

    /// <summary>Locks <paramref name="run"/> (created if missing) or throws a <see cref="UsageException"/> naming the run and the holder.</summary>
    public static RunLock Acquire(string run)
    {
        if (File.Exists(run)) throw new UsageException($"--out {run}: is a file, not a run folder.");
        Directory.CreateDirectory(run);
        FileStream handle;
        try { handle = new FileStream(LockPath(run), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) when (File.Exists(LockPath(run)))
        {
            string owner;
            try { owner = File.ReadAllText(OwnerPath(run)).Trim(); }
            catch (IOException) { owner = "unknown"; }
            throw new UsageException(
                $"{run} is in use by another workbench process ({owner}); wait for it to finish or stop it before training here.");
        }
        var ownerPath = OwnerPath(run);
        File.WriteAllText(ownerPath, string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z"));
        return new RunLock(handle, ownerPath);
    }

    public void Dispose()
    {
        try { File.Delete(_ownerPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _handle.Dispose();
    }
}
