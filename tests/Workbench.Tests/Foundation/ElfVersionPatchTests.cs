using Workbench.Build;

namespace Workbench.Tests.Foundation;

public class ElfVersionPatchTests
{
    static string PackagedLibrary()
    {
        var home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [Fact]
    public void MarksTheGlibcxxRequirementWeakIdempotently()
    {
        var src = PackagedLibrary();
        Assert.True(File.Exists(src), $"{src} not found: restore the solution first");
        var copy = Path.Combine(Path.GetTempPath(), $"wb-elf-{Guid.NewGuid():N}.so");
        File.Copy(src, copy);
        try
        {
            // Clear the flag first, so the test starts from the library as shipped even if the cache is patched.
            var bytes = File.ReadAllBytes(copy);
            var offsets = ElfVersionPatch.FindVernauxFlagOffsets(bytes, "GLIBCXX_3.4.32", copy);
            Assert.Single(offsets);
            bytes[offsets[0]] &= unchecked((byte)~0x2);
            File.WriteAllBytes(copy, bytes);
            Assert.False(ElfVersionPatch.IsWeakOrAbsent(copy, "GLIBCXX_3.4.32"));

            Assert.Equal(ElfPatchResult.Patched, ElfVersionPatch.MarkVersionWeak(copy, "GLIBCXX_3.4.32"));
            Assert.True(ElfVersionPatch.IsWeakOrAbsent(copy, "GLIBCXX_3.4.32"));
            Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionPatch.MarkVersionWeak(copy, "GLIBCXX_3.4.32"));
            Assert.Equal(ElfPatchResult.VersionNotNeeded, ElfVersionPatch.MarkVersionWeak(copy, "GLIBCXX_9.9.99"));

            // Only that one flag changed: every other byte is as shipped.
            var after = File.ReadAllBytes(copy);
            int diffs = 0;
            for (int i = 0; i < after.Length; i++) if (after[i] != bytes[i]) diffs++;
            Assert.Equal(1, diffs);
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void RejectsAFileThatIsNotElf()
    {
        var f = Path.GetTempFileName();
        File.WriteAllText(f, "not an elf file, just text long enough to pass the size check ................");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ElfVersionPatch.MarkVersionWeak(f, "GLIBCXX_3.4.32"));
            Assert.Contains(f, e.Message);
        }
        finally { File.Delete(f); }
    }
}
