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
            Assert.Contains("workbench notebook run", withSystem);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void ALoadableLibraryPassesTheCheck() => NativeLibraryCheck.EnsureLoaded();
}
