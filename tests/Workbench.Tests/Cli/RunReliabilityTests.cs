using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Cli.RunFixtures;

namespace Workbench.Tests.Cli;

/// <summary>
/// Run folders under hostile use: two processes on one folder, kills, resumes that change settings,
/// damaged run.json and checkpoints, and every file-system error as one line with exit code 2.
/// </summary>
[Collection(CliCollection.Name)]
public class RunReliabilityTests
{
    static string Ck(string run) => Path.Combine(run, "checkpoints", "last.safetensors");

    /// <summary>A new run of the tiny Glow, trained for <paramref name="steps"/> steps.</summary>
    static string Trained(string what, long steps)
    {
        var run = NewRun(what);
        var r = CliTestHost.Run(TinyGlow(run, steps));
        Assert.True(r.Code == 0, r.Err);
        return run;
    }

    [Fact]
    public void ASecondTrainOnALockedRunIsRefusedNamingTheHolderAndAKilledHolderCanBeResumedAtOnce()
    {
        var run = NewRun("lock");
        using var first = Start(TinyGlow(run, 100000, "--checkpoint-every", "2"));
        WaitFor(first, () => File.Exists(Ck(run)));
        Assert.False(first.HasExited, "the first run ended before the test could race it");

        var second = CliTestHost.Run(TinyGlow(run, 5));
        AssertOneLineError(second.Code, second.Err, "in use by another workbench process");
        Assert.Contains($"pid {first.Id}", second.Err);
        var resume = CliTestHost.Run("train", "--resume", run);
        AssertOneLineError(resume.Code, resume.Err, $"pid {first.Id}");

        first.Kill(entireProcessTree: true);   // SIGKILL: the OS drops the lock with the process
        first.WaitForExit();
        var at = Checkpoint.ReadInfo(Ck(run)).Step;
        var after = CliTestHost.Run("train", "--resume", run, "--steps", (at + 2).ToString());
        Assert.True(after.Code == 0, after.Err);
        Assert.Contains($"resuming {run} at step {at}", after.Err);
    }

    [Fact]
    public void LogHoldsEveryStepBeforeAnyCheckpointCoversIt()
    {
        // A log that cannot be written (here: log.csv is a folder) must stop the run before a checkpoint is written
        // ahead of it; once it can be written, the resumed run's log has every step exactly once.
        var run = NewRun("log");
        Directory.CreateDirectory(Path.Combine(run, "log.csv"));
        var a = CliTestHost.Run(TinyGlow(run, 4, "--checkpoint-every", "2"));
        Assert.Equal(2, a.Code);
        Assert.False(File.Exists(Ck(run)), "a checkpoint was written although its log rows could not be");
        Directory.Delete(Path.Combine(run, "log.csv"));
        var b = CliTestHost.Run("train", "--resume", run);
        Assert.True(b.Code == 0, b.Err);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, TrainRows(run));
    }

    [Fact]
    public void AKilledRunResumedHasOneLogRowPerStep()
    {
        var run = NewRun("killlog");
        using (var p = Start(TinyGlow(run, 100000, "--checkpoint-every", "3")))
        {
            // Kill a few steps after a checkpoint, so log.csv is ahead of it.
            WaitFor(p, () => File.Exists(Ck(run)) && File.ReadAllLines(Path.Combine(run, "log.csv")).Length > 8);
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        var at = Checkpoint.ReadInfo(Ck(run)).Step;
        var before = TrainRows(run);
        Assert.True(before.Max() >= at, $"the log ({before.Max()}) lags the checkpoint ({at})");
        var b = CliTestHost.Run("train", "--resume", run, "--steps", (at + 4).ToString());
        Assert.True(b.Code == 0, b.Err);
        Assert.Equal(Enumerable.Range(1, (int)at + 4).Select(i => (long)i), TrainRows(run));
    }

    [Fact]
    public void ADivergedRunKeepsItsLogUpToTheDivergenceAndSaysHowToContinue()
    {
        var run = NewRun("diverge");
        var a = CliTestHost.Run(TinyGlow(run, 50, "--checkpoint-every", "1000",
            "--set", "LearningRate=1e6", "--set", "WarmupSteps=0", "--set", "MaxGradNorm=null"));
        AssertOneLineError(a.Code, a.Err, "diverged at step");
        Assert.Contains("--set LearningRate=", a.Err);
        long diverged = long.Parse(System.Text.RegularExpressions.Regex.Match(a.Err, @"diverged at step (\d+)").Groups[1].Value);
        Assert.True(diverged >= 1, a.Err);
        // The step index in the message is 0-based: the rows of steps 1..diverged were logged.
        Assert.Equal(Enumerable.Range(1, (int)diverged).Select(i => (long)i), TrainRows(run));
    }

    [Fact]
    public void OrphanTemporariesOfKilledWritesAreRemovedOnTheNextStart()
    {
        var run = Trained("orphans", 2);
        var orphans = new[] { Ck(run) + ".tmp-0123456789abcdef", Path.Combine(run, "log.csv.tmp"), Path.Combine(run, "run.json.tmp") };
        foreach (var o in orphans) File.WriteAllText(o, "partial");
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "3");
        Assert.True(b.Code == 0, b.Err);
        foreach (var o in orphans) Assert.False(File.Exists(o), $"{o} was left behind");
    }

    [Fact]
    public void ResumeTakesTheLearningRateAndIntervalsAndRecordsFromWhichStep()
    {
        var run = NewRun("override");
        Assert.Equal(0, CliTestHost.Run(TinyGlow(run, 4, "--checkpoint-every", "2", "--set", "WarmupSteps=0")).Code);
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "6", "--set", "LearningRate=0.0005", "--checkpoint-every", "5");
        Assert.True(b.Code == 0, b.Err);

        var info = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal(5, info["checkpoint_every"]!.GetValue<long>());
        Assert.Equal(0.0005, info["config"]!["training"]!["LearningRate"]!.GetValue<double>());
        var changes = info["changes"]!.AsArray();
        var lr = changes.Single(c => c!["field"]!.GetValue<string>().EndsWith("LearningRate"))!;
        Assert.Equal(4, lr["step"]!.GetValue<long>());
        Assert.Equal("0.001", lr["from"]!.GetValue<string>());
        Assert.Equal("0.0005", lr["to"]!.GetValue<string>());
        Assert.Contains(changes, c => c!["field"]!.GetValue<string>() == "checkpoint_every");

        // The steps after the resume trained with the new rate, and the checkpoint records it.
        var lines = File.ReadAllLines(Path.Combine(run, "log.csv"));
        int col = Array.IndexOf(lines[0].Split(','), "lr");
        var lrs = lines.Skip(1).Select(l => l.Split(',')).Where(c => c[col].Length > 0).ToDictionary(c => long.Parse(c[0]), c => double.Parse(c[col], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0.001, lrs[4], 12);
        Assert.Equal(0.0005, lrs[5], 12);
        Assert.Contains("\"LearningRate\":0.0005", Checkpoint.ReadInfo(Ck(run)).ConfigJson);
    }

    [Fact]
    public void ResumeRefusesAShapeChangingSettingByName()
    {
        var run = Trained("shape", 2);
        var b = CliTestHost.Run("train", "--resume", run, "--set", "HiddenChannels=12");
        AssertOneLineError(b.Code, b.Err, "HiddenChannels cannot change on resume");
        var c = CliTestHost.Run("train", "--resume", run, "--batch", "4");
        AssertOneLineError(c.Code, c.Err, "--batch cannot change on resume");
    }

    [Fact]
    public void ARunJsonSwitchedToAnotherFamilyIsRefusedBeforeAModelIsBuilt()
    {
        var run = Trained("family", 2);
        var path = Path.Combine(run, "run.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"model\": \"glow\"", "\"model\": \"stylegan2\""));
        foreach (var args in new[] { new[] { "train", "--resume", run }, new[] { "eval", run }, new[] { "sample", run, "--out", Path.Combine(run, "x.png") } })
        {
            var r = CliTestHost.Run(args);
            AssertOneLineError(r.Code, r.Err, "not a StyleGan2Config");
            Assert.Contains("Levels", r.Err);   // the first field StyleGAN2's config does not have
        }
    }

    [Fact]
    public void AConfigMismatchNamesEachDifferingFieldWithBothValues()
    {
        var run = Trained("mismatch", 2);
        var path = Path.Combine(run, "run.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"HiddenChannels\": 8", "\"HiddenChannels\": 16"));
        var r = CliTestHost.Run("eval", run);
        AssertOneLineError(r.Code, r.Err, "Model.HiddenChannels: file 8, expected 16");
        Assert.True(r.Err.Length < 400, $"the message is {r.Err.Length} characters: {r.Err}");
    }

    [Fact]
    public void BadArgumentsAreOneLineErrors()
    {
        var run = NewRun("args");
        var r = CliTestHost.Run("train", "glow", "--steps", "abc", "--out", run);
        AssertOneLineError(r.Code, r.Err, "--steps 'abc': expected a whole number");
        Assert.DoesNotContain("System.", r.Err);
        r = CliTestHost.Run(TinyGlow(run, 2, "--set", "BatchSize=0"));
        AssertOneLineError(r.Code, r.Err, "BatchSize is set by --batch");
        r = CliTestHost.Run(TinyGlow(run, 2, "--checkpoint-every", "-1"));
        AssertOneLineError(r.Code, r.Err, "--checkpoint-every -1");
        r = CliTestHost.Run("train", "glow", "--eval-limit", "0", "--out", run);
        AssertOneLineError(r.Code, r.Err, "--eval-limit 0: must be at least 1");
        Assert.False(Directory.Exists(run), "a refused command created the run folder");
    }

    [Fact]
    public void CheckpointEveryZeroCheckpointsOnlyAtTheEnd()
    {
        var run = NewRun("every0");
        var r = CliTestHost.Run(TinyGlow(run, 3, "--checkpoint-every", "0"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(3, Checkpoint.ReadInfo(Ck(run)).Step);
    }

    [Fact]
    public void UnwritableAndMisnamedPlacesAreOneLineErrors()
    {
        var root = Directory.CreateTempSubdirectory("wb-places").FullName;
        var file = Path.Combine(root, "a-file");
        File.WriteAllText(file, "x");
        var r = CliTestHost.Run(TinyGlow(file, 2));
        AssertOneLineError(r.Code, r.Err, "is a file, not a run folder");
        // /proc refuses new files and folders even to root.
        r = CliTestHost.Run(TinyGlow("/proc/wb-run", 2));
        AssertOneLineError(r.Code, r.Err, "/proc/wb-run");

        var run = Trained("sampleout", 1);
        r = CliTestHost.Run("sample", run, "--n", "4", "--out", "/proc/wb-grid.png");
        AssertOneLineError(r.Code, r.Err, "/proc/wb-grid.png");
    }

    [Fact]
    public void DamagedRunJsonAndCheckpointMetadataAreOneLineErrors()
    {
        var run = Trained("damaged", 2);
        var path = Path.Combine(run, "run.json");
        var good = File.ReadAllText(path);
        File.WriteAllText(path, good[..(good.Length / 2)]);
        var r = CliTestHost.Run("train", "--resume", run);
        AssertOneLineError(r.Code, r.Err, "not a valid run.json");
        File.WriteAllText(path, good);

        foreach (var bad in new string?[] { null, "twelve" })
        {
            var (tensors, meta) = Checkpoint.Load(Ck(run));
            if (bad is null) meta.Remove("loader_position"); else meta["loader_position"] = bad;
            var copy = Path.Combine(run, "checkpoints", "copy.safetensors");
            Checkpoint.Save(copy, tensors, meta);
            foreach (var t in tensors.Values) t.Dispose();
            File.Move(copy, Ck(run), overwrite: true);
            r = CliTestHost.Run("train", "--resume", run, "--steps", "3");
            AssertOneLineError(r.Code, r.Err, "loader_position");
        }
    }

    [Fact]
    public void ATensorWhoseDtypeWasChangedIsRefusedNamingBoth()
    {
        var run = Trained("dtype", 1);
        var (tensors, meta) = Checkpoint.Load(Ck(run));
        var key = tensors.Keys.First(k => k.StartsWith("model.") && tensors[k].dtype == ScalarType.Float32 && tensors[k].NumberOfElements > 1);
        var floats = tensors[key].data<float>().ToArray();
        var reinterpreted = tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(floats).ToArray(), tensors[key].shape);   // same bytes, I32 in the header
        tensors[key].Dispose();
        tensors[key] = reinterpreted;
        Checkpoint.Save(Ck(run), tensors, meta);
        foreach (var t in tensors.Values) t.Dispose();
        var r = CliTestHost.Run("sample", run, "--n", "4", "--out", Path.Combine(run, "grid.png"));
        AssertOneLineError(r.Code, r.Err, $"{key}: file has dtype I32, module has F32");
    }

    [Fact]
    public void AFlippedBitInACheckpointIsReportedNotLoaded()
    {
        var run = Trained("bitflip", 1);
        var header = SafeTensors.ReadHeader(Ck(run));
        var bytes = File.ReadAllBytes(Ck(run));
        var target = header.Tensors.First(t => t.Name.StartsWith("model.") && t.ByteLength > 16);
        bytes[header.DataStart + target.Begin + 5] ^= 0x10;
        File.WriteAllBytes(Ck(run), bytes);
        var r = CliTestHost.Run("sample", run, "--n", "4", "--out", Path.Combine(run, "grid.png"));
        AssertOneLineError(r.Code, r.Err, "corrupt");
        r = CliTestHost.Run("train", "--resume", run, "--steps", "2");
        AssertOneLineError(r.Code, r.Err, "SHA-256");
    }

    [Fact]
    public void AnImageFolderTrainsAtTheGivenSizeAndIsRecorded()
    {
        var run = NewRun("folder");
        var r = CliTestHost.Run(TinyGlow(run, 1));
        Assert.True(r.Code == 0, r.Err);
        var info = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal(Images, info["data"]!.GetValue<string>());
        Assert.Equal(8, info["image_size"]!.GetValue<int>());
        Assert.Equal(new long[] { 3, 8, 8 }, info["shape"]!.AsArray().Select(n => n!.GetValue<long>()));
        var e = CliTestHost.Run("eval", run, "--quality", "0");
        Assert.True(e.Code == 0, e.Err);
        var bad = CliTestHost.Run("train", "glow", "--data", Path.Combine(Images, "no-such-folder"), "--out", NewRun("nofolder"));
        AssertOneLineError(bad.Code, bad.Err, "neither a dataset");
    }

    [Fact]
    public void NonFiniteResultsAreWrittenAsJsonNullWithAWarning()
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { Workbench.Cli.CliOutput.WriteResult(new Dictionary<string, object?> { ["test_bpd"] = double.NaN, ["kid"] = double.PositiveInfinity, ["steps"] = 3L }); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
        using var json = JsonDocument.Parse(o.ToString());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("test_bpd").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("kid").ValueKind);
        Assert.Equal(3, json.RootElement.GetProperty("steps").GetInt64());
        Assert.Contains("test_bpd is NaN", e.ToString());
    }

    [Fact]
    public void SampleRefusesABadTemperatureAnOutputUnderAFileAndAGridTooLargeByName()
    {
        var run = Trained("sample-input", 2);
        foreach (var t in new[] { "NaN", "-1", "Infinity" })
        {
            var r = CliTestHost.Run("sample", run, "--n", "4", "--temperature", t, "--out", Path.Combine(run, "t.png"));
            AssertOneLineError(r.Code, r.Err, $"--temperature {double.Parse(t, System.Globalization.CultureInfo.InvariantCulture)}");
        }
        var file = Path.Combine(Path.GetDirectoryName(run)!, "afile");
        File.WriteAllText(file, "");
        var under = CliTestHost.Run("sample", run, "--n", "4", "--out", Path.Combine(file, "sub", "x.png"));
        AssertOneLineError(under.Code, under.Err, $"{file} is a file, not a folder");
        Assert.Contains("--out", under.Err);
        var train = CliTestHost.Run(TinyGlow(Path.Combine(file, "sub"), 1));
        AssertOneLineError(train.Code, train.Err, $"--out {Path.Combine(file, "sub")}: {file} is a file");
        var huge = CliTestHost.Run("sample", run, "--n", "5000000", "--out", Path.Combine(run, "huge.png"));
        AssertOneLineError(huge.Code, huge.Err, "--n 5000000: the grid would be");
        Assert.False(File.Exists(Path.Combine(run, "huge.png")));
    }

    /// <summary>Sampling runs in chunks: the real executable's peak resident memory for 40,000 samples of the tiny Glow
    /// exceeds that for 64 by what the output needs (the images, the 2,002-pixel grid and its PNG: about 115 MiB
    /// measured), well under the 666 MiB more that drawing them at once takes (measured with one chunk of all).</summary>
    [Fact]
    public void SamplingMemoryDoesNotGrowWithN()
    {
        if (!OperatingSystem.IsLinux()) return;
        var run = Trained("sample-memory", 2);
        double Peak(int n)
        {
            var r = RunProcess(null, "sample", run, "--n", n.ToString(), "--out", Path.Combine(run, $"n{n}.png"), "--threads", "1");
            Assert.True(r.Code == 0, r.Err);
            return System.Text.Json.JsonDocument.Parse(r.Out.Trim().Split('\n')[^1]).RootElement.GetProperty("peak_rss_mib").GetDouble();
        }
        double small = Peak(64), large = Peak(40000);
        Assert.True(large - small < 200, $"peak resident memory {small:F0} MiB for 64 samples, {large:F0} MiB for 40,000");
    }
}
