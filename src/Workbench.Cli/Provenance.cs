using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Workbench.Cli;

/// <summary>Where a run came from: its command line, the project's commit, the machine (recorded in run.json and model cards).</summary>
public static class Provenance
{
    /// <summary>The invoked command line as one string (<c>workbench train glow --steps 10 …</c>), quoted where a token needs it.</summary>
    public static string CommandLine(ParseResult parsed) =>
        "workbench " + string.Join(" ", parsed.Tokens.Select(t => Quote(t.Value)));

    static string Quote(string token) =>
        token.Length > 0 && token.All(c => !char.IsWhiteSpace(c) && c is not ('"' or '\'' or '\\')) ? token : "\"" + token.Replace("\"", "\\\"") + "\"";

    /// <summary>The git commit (40 hex digits) of the checkout that holds <paramref name="folder"/>, or null when git or the checkout is absent.</summary>
    public static string? Commit(string? folder = null)
    {
        try
        {
            var info = new ProcessStartInfo("git", "rev-parse HEAD")
            {
                WorkingDirectory = folder ?? Data.DatasetResolver.FindRepositoryRoot() ?? ".",
                RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var git = Process.Start(info)!;
            var text = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && text.Length == 40 ? text : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException) { return null; }
    }

    /// <summary>The processor's model name (from /proc/cpuinfo on Linux, else the architecture).</summary>
    public static string Processor()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (File.Exists(cpuinfo))
            foreach (var line in File.ReadLines(cpuinfo))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var i and > 0)
                    return line[(i + 1)..].Trim();
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>Processor, logical cores and OS in one line, e.g. "Intel(R) Xeon(R) … (2 logical cores), Debian GNU/Linux 12 (bookworm)".</summary>
    public static string Machine() => $"{Processor()} ({Environment.ProcessorCount} logical cores), {RuntimeInformation.OSDescription}";
}
