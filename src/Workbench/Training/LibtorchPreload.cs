using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Workbench.Training;

/// <summary>
/// Loads TorchSharp's own libtorch (libc10, libtorch_cpu, libtorch) by absolute path when a system-wide libtorch
/// would shadow it: with Debian's python3-torch and libtorch-dev installed, a notebook kernel's TorchSharp asks the
/// loader for <c>libtorch_cpu.so</c> by name and gets libtorch 1.13 from /usr/lib, which its native library cannot
/// use. The loader matches a later request by name against the libraries already loaded (their SONAME), so once
/// TorchSharp's copies are loaded every later request, TorchSharp's included, gets them. Runs when the Workbench
/// assembly is first used (a module initializer), before any Workbench code touches TorchSharp; it does nothing
/// on other systems, without a system libtorch, or once TorchSharp has loaded.
/// </summary>
public static class LibtorchPreload
{
    /// <summary>The libraries, dependencies first.</summary>
    public static readonly string[] Libraries = { "libc10.so", "libtorch_cpu.so", "libtorch.so" };

    /// <summary>The folder the libraries were loaded from, or null when nothing was preloaded.</summary>
    public static string? LoadedFrom { get; private set; }

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "must run before TorchSharp's own initialiser")]
    internal static void OnFirstUse()
    {
        try { Run(); }
        catch (Exception) { /* a failed preload leaves TorchSharp's own loading, and NativeLibraryCheck's message */ }
    }

    /// <summary>Preloads when a system-wide libtorch exists and TorchSharp's copy is found (see the class summary).</summary>
    public static void Run()
    {
        if (LoadedFrom is not null || !OperatingSystem.IsLinux()) return;
        if (!NativeLibraryCheck.SystemLibraryFolders.Any(f => File.Exists(Path.Combine(f, "libtorch_cpu.so")))) return;
        var torchSharp = typeof(torch).Assembly.Location;   // a type reference: TorchSharp's initialiser does not run
        var folder = Candidates(torchSharp, AppContext.BaseDirectory, LibtorchVersion()).FirstOrDefault(Complete);
        if (folder is null) return;
        foreach (var lib in Libraries) NativeLibrary.Load(Path.Combine(folder, lib));
        LoadedFrom = folder;
    }

    static bool Complete(string folder) => Libraries.All(l => File.Exists(Path.Combine(folder, l)));

    /// <summary>The libtorch version TorchSharp was built for (its <c>libtorchPackageVersion</c> constant, read without
    /// running its initialiser), or null.</summary>
    static string? LibtorchVersion() =>
        typeof(torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue() as string;

    /// <summary>Where TorchSharp's CPU libtorch may be, most specific first: the libtorch-cpu-linux-x64 package of
    /// <paramref name="libtorchVersion"/> beside TorchSharp's package in a NuGet cache (a notebook kernel), the
    /// folder TorchSharp consolidates it into beside its assembly (<c>cpu/</c>), and an application's own folders.</summary>
    public static IEnumerable<string> Candidates(string torchSharpAssembly, string appFolder, string? libtorchVersion)
    {
        var assemblyFolder = Path.GetDirectoryName(torchSharpAssembly) ?? ".";
        // <packages>/torchsharp/<version>/lib/<tfm>/TorchSharp.dll
        var tfm = new DirectoryInfo(assemblyFolder);
        if (tfm.Parent?.Name == "lib" && tfm.Parent.Parent?.Parent is { } package && package.Name.Equals("torchsharp", StringComparison.OrdinalIgnoreCase)
            && package.Parent is { } packages)
        {
            var cpu = new DirectoryInfo(Path.Combine(packages.FullName, "libtorch-cpu-linux-x64"));
            var versions = libtorchVersion is not null ? new[] { libtorchVersion }
                : cpu.Exists ? cpu.GetDirectories().Select(d => d.Name).OrderByDescending(n => Version.TryParse(n, out var v) ? v : new Version()).ToArray()
                : Array.Empty<string>();
            foreach (var v in versions) yield return Path.Combine(cpu.FullName, v, "runtimes", "linux-x64", "native");
        }
        yield return Path.Combine(assemblyFolder, "cpu");
        yield return Path.Combine(appFolder, "runtimes", "linux-x64", "native");
        yield return appFolder;
    }
}
