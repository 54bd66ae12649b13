using Workbench.Training;

namespace Workbench.Tests.Training;

public class NativeLibraryCheckTests
{
    [Fact]
    public void ALoadFailureNamesTheCopyTheCauseAndTheFix()
    {
        var folder = Path.Combine(Path.GetTempPath(), "wb-native-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(folder, "cpu"));
        var copy = Path.Combine(folder, "cpu", "libLibTorchSharp.so");
        File.WriteAllText(copy, "");
        try
        {
            var failure = new TypeInitializationException("TorchSharp.torch",
                new DllNotFoundException("libLibTorchSharp.so: version `GLIBCXX_3.4.32' not found\nmore detail"));
            var message = NativeLibraryCheck.Explain(failure, Path.Combine(folder, "TorchSharp.dll"));
            Assert.Contains($"loaded from {copy}", message);
            Assert.Contains("GLIBCXX_3.4.32' not found", message);
            Assert.DoesNotContain("more detail", message);
            Assert.Contains("dotnet build Workbench.sln", message);
            Assert.Contains("restart the kernel", message);
            Assert.DoesNotContain("system-wide libtorch", NativeLibraryCheck.Explain(failure, Path.Combine(folder, "TorchSharp.dll"), new[] { folder }));

            // a libtorch on the loader's default path (Debian's python3-torch) is named, with the way out
            File.WriteAllText(Path.Combine(folder, "libtorch_cpu.so"), "");
            var withSystem = NativeLibraryCheck.Explain(failure, Path.Combine(folder, "TorchSharp.dll"), new[] { "/nonexistent", folder });
            Assert.Contains($"system-wide libtorch is installed ({Path.Combine(folder, "libtorch_cpu.so")}", withSystem);
            Assert.Contains("loaded TorchSharp's own copy first", withSystem);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void ALoadableLibraryPassesTheCheck() => NativeLibraryCheck.EnsureLoaded();

    [Fact]
    public void ThePreloadLooksForTorchSharpsOwnLibtorchBesideItsPackageFirst()
    {
        var packages = Path.Combine(Path.GetTempPath(), "wb-packages-" + Guid.NewGuid().ToString("N")[..8]);
        var assembly = Path.Combine(packages, "torchsharp", "0.107.0", "lib", "net8.0", "TorchSharp.dll");
        try
        {
            var found = LibtorchPreload.Candidates(assembly, "/app", "2.10.0").ToList();
            Assert.Equal(Path.Combine(packages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native"), found[0]);
            Assert.Contains(Path.Combine(packages, "torchsharp", "0.107.0", "lib", "net8.0", "cpu"), found);
            Assert.Equal("/app", found[^1]);
            // without the version constant: the versions present, newest first
            Directory.CreateDirectory(Path.Combine(packages, "libtorch-cpu-linux-x64", "2.9.1"));
            Directory.CreateDirectory(Path.Combine(packages, "libtorch-cpu-linux-x64", "2.10.0"));
            Assert.EndsWith(Path.Combine("2.10.0", "runtimes", "linux-x64", "native"), LibtorchPreload.Candidates(assembly, "/app", null).First());
            // an application (no NuGet layout) looks beside TorchSharp and in its own folders only
            Assert.Equal(new[] { "/app/cpu", "/app/runtimes/linux-x64/native", "/app" }, LibtorchPreload.Candidates("/app/TorchSharp.dll", "/app", "2.10.0"));
        }
        finally { if (Directory.Exists(packages)) Directory.Delete(packages, recursive: true); }
    }

    [Fact]
    public void TorchSharpsLibtorchVersionConstantIsReadable()
    {
        // the preload finds the package of this version; a TorchSharp without the constant falls back to the newest present
        var field = typeof(TorchSharp.torch).GetField("libtorchPackageVersion", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static);
        Assert.NotNull(field);
        Assert.Matches(@"^\d+\.\d+\.\d+", (string)field!.GetRawConstantValue()!);
    }
}
