using System.Diagnostics;
using Workbench.Training;
using static Workbench.Tests.Cli.RunFixtures;

namespace Workbench.Tests.Cli;

/// <summary>A run on a file system that fills up mid-run: one-line error, exit 2, the previous checkpoint intact.</summary>
[Collection(CliCollection.Name)]
public class DiskFullTests
{
    static int Sh(string command)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    [SkippableFact]
    public void ACheckpointThatDoesNotFitLeavesThePreviousOneAndSaysDiskFull()
    {
        // The size of one checkpoint, from a run on the ordinary disk.
        var probe = NewRun("diskprobe");
        Assert.Equal(0, CliTestHost.Run(TinyGlow(probe, 1)).Code);
        long size = new FileInfo(Path.Combine(probe, "checkpoints", "last.safetensors")).Length;

        // A file system with room for one checkpoint and the small files, not for a second one beside it.
        var mount = Directory.CreateTempSubdirectory("wb-full").FullName;
        long pages = (size + 4095) / 4096;
        long bytes = (pages * 3 / 2 + 12) * 4096;   // tmpfs counts whole pages; ~6 small files beside the checkpoint
        if (Sh($"mount -t tmpfs -o size={bytes} tmpfs '{mount}'") != 0)
            throw new SkipTestException("cannot mount a small tmpfs here (needs root and mount permission) to fill a disk");
        try
        {
            var run = Path.Combine(mount, "run");
            var r = CliTestHost.Run(TinyGlow(run, 6, "--checkpoint-every", "1"));
            AssertOneLineError(r.Code, r.Err, "disk full");
            var ck = Path.Combine(run, "checkpoints", "last.safetensors");
            var info = Checkpoint.ReadInfo(ck);
            Assert.InRange(info.Step, 1, 5);
            var (tensors, _) = Checkpoint.Load(ck);   // loads, checksum and all
            foreach (var t in tensors.Values) t.Dispose();
            Assert.Empty(Directory.GetFiles(Path.Combine(run, "checkpoints"), "*.tmp-*"));
        }
        finally { Sh($"umount '{mount}'"); }
    }
}
