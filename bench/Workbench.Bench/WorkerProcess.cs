using System.Diagnostics;
using System.Globalization;

namespace Workbench.Bench;

/// <summary>A running worker (ours or a PyTorch replica) spoken to line by line (bench/README.md).</summary>
sealed class WorkerProcess : IDisposable
{
    readonly Process _p;

    public string Name { get; }

    WorkerProcess(string name, Process p) { Name = name; _p = p; }

    public static WorkerProcess Start(string name, string file, IEnumerable<string> args, string workingDirectory, int threads,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,   // the workers' logs go to our stderr
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // the protocol sets the intra-op threads; keep OpenMP, MKL and OpenBLAS pools at the same count
        foreach (var v in new[] { "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS" })
            psi.Environment[v] = threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        return new WorkerProcess(name, p);
    }

    /// <summary>Sends a command (null: none) and reads the answer line that starts with <paramref name="reply"/>,
    /// skipping any other output; an <c>error</c> line or the end of the output throws.</summary>
    public Dictionary<string, string> Ask(string? command, string reply)
    {
        if (command is not null)
        {
            _p.StandardInput.Write(command + "\n");
            _p.StandardInput.Flush();
        }
        while (true)
        {
            var line = _p.StandardOutput.ReadLine()
                ?? throw new WorkerException($"{Name}: the worker ended without answering '{command ?? reply}'" + ExitNote());
            line = line.Trim();
            if (line.StartsWith("error", StringComparison.Ordinal))
                throw new WorkerException($"{Name}: {line}");
            if (!line.StartsWith(reply + " ", StringComparison.Ordinal) && line != reply) continue;
            var fields = new Dictionary<string, string>();
            foreach (var kv in line[reply.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = kv.IndexOf('=');
                if (eq > 0) fields[kv[..eq]] = kv[(eq + 1)..];
            }
            return fields;
        }
    }

    string ExitNote()
    {
        try { return _p.WaitForExit(5000) ? $" (exit code {_p.ExitCode})" : ""; }
        catch (InvalidOperationException) { return ""; }
    }

    public static double Num(Dictionary<string, string> f, string key) =>
        f.TryGetValue(key, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;

    public void Dispose()
    {
        try
        {
            if (!_p.HasExited)
            {
                try { _p.StandardInput.Write("quit\n"); _p.StandardInput.Flush(); _p.StandardInput.Close(); } catch (IOException) { }
                if (!_p.WaitForExit(10_000)) _p.Kill();
            }
        }
        catch (InvalidOperationException) { }
        _p.Dispose();
    }
}

sealed class WorkerException(string message) : Exception(message);
