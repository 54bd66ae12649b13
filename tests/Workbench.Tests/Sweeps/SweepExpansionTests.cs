using Workbench.Cli;
using Workbench.Cli.Sweeps;
using Workbench.Tests.Cli;

namespace Workbench.Tests.Sweeps;

/// <summary>Sweep files expand into grid × seeds points with stable names; bad files are one-line errors, exit 2.</summary>
[Collection(CliCollection.Name)]
public class SweepExpansionTests
{
    [Fact]
    public void GridTimesSeedsGivesOnePointEachWithStableNamesAndTrainArguments()
    {
        var (file, _) = TinySweep.Write("""{ "Permutation": ["Reverse", "Shuffle", "Conv1x1"], "Coupling": ["Additive", "Affine"] }""", "[0, 1, 2]");
        var points = SweepExpansion.Expand(SweepFile.Load(file), file);

        Assert.Equal(18, points.Count);
        Assert.Equal(Enumerable.Range(0, 18), points.Select(p => p.Index));
        Assert.Equal(18, points.Select(p => p.Name).Distinct().Count());
        // First axis slowest, seeds innermost.
        Assert.Equal("Permutation-Reverse_Coupling-Additive_seed-0", points[0].Name);
        Assert.Equal("Permutation-Reverse_Coupling-Additive_seed-2", points[2].Name);
        Assert.Equal("Permutation-Reverse_Coupling-Affine_seed-0", points[3].Name);
        Assert.Equal("Permutation-Conv1x1_Coupling-Affine_seed-2", points[17].Name);
        // Points that differ only in the seed share a setting: 6 settings of 3 seeds.
        Assert.Equal(6, points.Select(p => p.Setting).Distinct().Count());
        Assert.All(points.GroupBy(p => p.Setting), g => Assert.Equal(new long[] { 0, 1, 2 }, g.Select(p => p.Seed)));

        var p5 = points[5];   // Reverse, Affine, seed 2
        Assert.Equal("Permutation=Reverse Coupling=Affine", p5.Setting);
        var args = string.Join(" ", p5.TrainArgs);
        Assert.StartsWith("train nice --data fashion-mnist --preset small --steps 2 --batch 8 --seed 2 --eval-limit 16 --sample-every 0", args);
        Assert.EndsWith("--set StepsPerLevel=2 --set HiddenChannels=8 --set WarmupSteps=1 --set Permutation=Reverse --set Coupling=Affine", args);

        // The same file expands to the same names again (a re-run finds its folders).
        Assert.Equal(points.Select(p => p.Name), SweepExpansion.Expand(SweepFile.Load(file), file).Select(p => p.Name));
    }

    [Fact]
    public void NoGridGivesOnePointPerSeed()
    {
        var (file, _) = TinySweep.Write("{}", "[3, 4]");
        var points = SweepExpansion.Expand(SweepFile.Load(file), file);
        Assert.Equal(new[] { "seed-3", "seed-4" }, points.Select(p => p.Name));
    }

    [Fact]
    public void AnAxisOfSettingBundlesGivesOneVariantPerBundle()
    {
        var (file, _) = TinySweep.Write("""{ "ablation": [ {}, { "Coupling": "Additive" }, { "Permutation": "Shuffle", "LearnTopPrior": true } ] }""", "[0]");
        var points = SweepExpansion.Expand(SweepFile.Load(file), file);
        Assert.Equal(new[] { "ablation-base_seed-0", "ablation-Coupling~Additive_seed-0", "ablation-Permutation~Shuffle~LearnTopPrior~true_seed-0" },
            points.Select(p => p.Name));
        Assert.Equal("ablation=Permutation=Shuffle,LearnTopPrior=true", points[2].Setting);
        Assert.DoesNotContain(points[0].TrainArgs, a => a.StartsWith("Coupling=") || a.StartsWith("Permutation="));
        Assert.EndsWith("--set Permutation=Shuffle --set LearnTopPrior=true", string.Join(" ", points[2].TrainArgs));
    }

    [Theory]
    [InlineData("""{ "Couplin": ["Additive"] }""", "[0]", "", "no setting 'Couplin'")]
    [InlineData("""{ "Couplin": ["Additive"] }""", "[0]", "", "Model settings (GlowConfig): Levels, StepsPerLevel,")]   // the valid settings, all of them,
    [InlineData("""{ "Couplin": ["Additive"] }""", "[0]", "", ", EmaDecay")]                                              // on the one line
    [InlineData("""{ "Coupling": ["Additive", "Sideways"] }""", "[0]", "", "Sideways")]
    [InlineData("""{ "Coupling": [] }""", "[0]", "", "grid.Coupling must be a non-empty list")]
    [InlineData("{}", "[0, 0]", "", "seeds repeat")]
    [InlineData("{}", "[0]", "\"stepz\": 3,", "stepz")]
    [InlineData("{}", "[0]", "\"preset\": \"huge\",", "preset")]
    public void BadSweepFilesAreOneLineErrorsNamingTheFile(string grid, string seeds, string extra, string expected)
    {
        var (file, output) = TinySweep.Write(grid, seeds, extra: extra);
        var (code, _, err) = CliTestHost.Run("sweep", "run", file, "--out", output);
        Assert.Equal(2, code);
        var line = Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith($"error: {file}", line);
        Assert.Contains(expected, line);
        Assert.False(Directory.Exists(output), "nothing is written for a bad sweep file");
    }

    [Fact]
    public void MissingFileAndMissingSweepFolderAreOneLineErrors()
    {
        var (code, _, err) = CliTestHost.Run("sweep", "run", "/nonexistent/sweep.json");
        Assert.Equal(2, code);
        Assert.Equal("error: sweep file /nonexistent/sweep.json does not exist.", err.Trim());
        (code, _, err) = CliTestHost.Run("sweep", "status", "/nonexistent/dir");
        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/dir is not a sweep folder", err.Trim());
    }

    [Fact]
    public void AFolderHoldingAnotherSweepIsRefused()
    {
        var (file, output) = TinySweep.Write(seeds: "[0]");
        var points = SweepExpansion.Expand(SweepFile.Load(file), file);
        SweepFolder.Record(output, file, SweepFile.Load(file), points);
        var (other, _) = TinySweep.Write(seeds: "[5]");
        var (code, _, err) = CliTestHost.Run("sweep", "run", other, "--out", output);
        Assert.Equal(2, code);
        Assert.Contains($"{output} holds a different sweep", err);
    }

    [Fact]
    public void SlurmArraySpecificationCompressesRuns() =>
        Assert.Equal("0-3,5,7-8", SlurmBackend.Ranges(new[] { 0, 1, 2, 3, 5, 7, 8 }));

    /// <summary>A point whose marker names a zombie (a killed driver's child, dead but not yet reaped) is not running,
    /// so a re-run right after the kill starts it instead of skipping it as "running elsewhere".</summary>
    [Fact]
    public void AZombieProcessDoesNotCountAsRunning()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(Workbench.Cli.Sweeps.PointStatus.LinuxProcessRuns(Environment.ProcessId));
        Assert.False(Workbench.Cli.Sweeps.PointStatus.LinuxProcessRuns(int.MaxValue));
        // the background `sleep 1` ends after its parent has become `sleep 20` (exec), which never reaps it: a zombie
        // until then (a child that ended before the exec could be reaped by the shell itself)
        var psi = new System.Diagnostics.ProcessStartInfo("sh", new[] { "-c", "sleep 1 & echo $!; exec sleep 20" }) { RedirectStandardOutput = true };
        using var parent = System.Diagnostics.Process.Start(psi)!;
        int zombie = int.Parse(parent.StandardOutput.ReadLine()!);
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!File.ReadAllText($"/proc/{zombie}/stat").Contains(") Z") && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            Assert.Contains(") Z", File.ReadAllText($"/proc/{zombie}/stat"));
            Assert.True(Directory.Exists($"/proc/{zombie}"), "the zombie is still listed in /proc");
            Assert.False(Workbench.Cli.Sweeps.PointStatus.LinuxProcessRuns(zombie));
        }
        finally { parent.Kill(); }
    }
}
