using System.Diagnostics;

namespace Workbench.Tests.Interop;

/// <summary>
/// Runs the reference script TestData/Interop/reference.py with Debian's PyTorch (/usr/bin/python3, torch 1.13) into
/// a fresh temporary folder. A machine without that python or without torch makes the calling test report itself
/// skipped (<see cref="SkipTestException"/>).
/// </summary>
sealed class PyTorchReference : IDisposable
{
    public const string Python = "/usr/bin/python3";
    static readonly Lazy<string?> Missing = new(() =>
    {
        if (!System.IO.File.Exists(Python)) return $"{Python} is not installed (apt-get install python3-torch)";
        var (code, _, err) = Exec("-c", "import torch");
        return code == 0 ? null : $"{Python} cannot import torch (apt-get install python3-torch): {err.Trim().Split('\n').LastOrDefault()}";
    });

    public static string Script => Path.Combine(AppContext.BaseDirectory, "TestData", "Interop", "reference.py");

    public string Folder { get; } = Directory.CreateTempSubdirectory("workbench-interop-").FullName;

    /// <summary>A reference in a new temporary folder; skips the test when PyTorch is missing.</summary>
    public PyTorchReference()
    {
        if (Missing.Value is string why) throw new SkipTestException(why);
    }

    public string File(string name) => Path.Combine(Folder, name);

    /// <summary>Runs the script with these arguments; fails the test (with its output) on a non-zero exit unless
    /// <paramref name="expectFailure"/>. Returns the exit code and stdout.</summary>
    public (int Code, string Output) Run(bool expectFailure, params string[] args)
    {
        var (code, output, err) = Exec(new[] { Script }.Concat(args).ToArray());
        if (!expectFailure && code != 0) Assert.Fail($"reference.py {string.Join(" ", args)} exited {code}:\n{output}\n{err}");
        return (code, output + err);
    }

    public string Run(params string[] args) => Run(false, args).Output;

    static (int Code, string Out, string Err) Exec(params string[] args)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }

    /// <summary>Bit-identical: same dtype, shape and bytes.</summary>
    public static bool Same(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
