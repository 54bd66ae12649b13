using TorchSharp;

namespace Workbench.Training;

/// <summary>
/// Turns TorchSharp's failure to load its native library (a <see cref="TypeInitializationException"/> from the
/// <c>torch</c> type, which stays broken for the life of the process) into one message that says which copy was
/// loaded and how to fix it: on hosts whose libstdc++ is older than GCC 13's (Debian 12), every copy of
/// libLibTorchSharp.so must be patched by the build, including the one TorchSharp copies beside its assembly for
/// notebook kernels (environment.md).
/// </summary>
public static class NativeLibraryCheck
{
    /// <summary>Touches libtorch once; throws <see cref="InvalidOperationException"/> with the fix if it cannot load.</summary>
    public static void EnsureLoaded()
    {
        try { _ = torch.__version__; }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            throw new InvalidOperationException(Explain(e, typeof(torch).Assembly.Location), e);
        }
    }

    /// <summary>Where a libtorch installed for the whole system (Debian's <c>libtorch1.13</c>, which
    /// <c>python3-torch</c> pulls in) is found by the dynamic loader's default search.</summary>
    public static readonly string[] SystemLibraryFolders =
        { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib" };

    /// <summary>The message for a failed load: the innermost cause, the copies that may have been loaded, the fix,
    /// and a system-wide libtorch when there is one (in a notebook kernel TorchSharp loads libtorch by name, so the
    /// loader's default search finds that one before TorchSharp's own and libLibTorchSharp then fails to load).</summary>
    public static string Explain(Exception e, string torchSharpAssemblyPath, IEnumerable<string>? systemLibraryFolders = null)
    {
        var cause = e;
        while (cause.InnerException is not null) cause = cause.InnerException;
        var folder = Path.GetDirectoryName(torchSharpAssemblyPath) ?? ".";
        var copies = new[] { "cpu", "cuda" }.Select(d => Path.Combine(folder, d, "libLibTorchSharp.so")).Where(File.Exists).ToList();
        var where = copies.Count > 0 ? $" (loaded from {string.Join(" or ", copies)})" : $" (TorchSharp at {folder})";
        return $"TorchSharp's native library could not be loaded{where}: {cause.Message.Split('\n')[0].Trim()} " +
               "On hosts whose libstdc++ predates GCC 13 (Debian 12), run `dotnet build Workbench.sln` in the repository, " +
               "which patches every copy including the notebook kernel's, then restart the kernel " +
               "(environment.md, \"TorchSharp's native library\")." + SystemLibtorchHint(systemLibraryFolders ?? SystemLibraryFolders);
    }

    static string SystemLibtorchHint(IEnumerable<string> folders)
    {
        var system = folders.Select(f => Path.Combine(f, "libtorch_cpu.so")).FirstOrDefault(File.Exists);
        return system is null ? "" :
            $" A system-wide libtorch is installed ({system}, e.g. by Debian's libtorch-dev): TorchSharp loads libtorch by name " +
            "and gets that one unless Workbench has loaded TorchSharp's own copy first " +
            (LibtorchPreload.LoadedFrom is { } from ? $"(it did, from {from})." :
                "(it did not: reference Workbench.dll and use a Workbench type, e.g. Devices, before the first TorchSharp call, " +
                "with TorchSharp-cpu's libtorch-cpu-linux-x64 package restored).");
    }
}
