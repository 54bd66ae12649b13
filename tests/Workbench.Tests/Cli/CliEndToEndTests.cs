using System.Diagnostics;
using System.Text.Json;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Cli;

/// <summary>train → checkpoint → kill → resume → sample → eval, on tiny models, through the real executable.</summary>
[Collection(CliCollection.Name)]
public class CliEndToEndTests
{
    static readonly string[] TinyVae =
    {
        "--set", "StemChannels=4", "--set", "Widths=4,8", "--set", "LatentChannels=2", "--set", "Components=2",
        "--batch", "8", "--sample-every", "0", "--eval-limit", "16",
    };

    static Process Start(string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["WORKBENCH_DEVICE"] = "cpu";
        psi.Environment["WORKBENCH_DOWNLOAD"] = "0";
        return Process.Start(psi)!;
    }

    static (int Code, string Out, string Err) RunToEnd(params string[] args)
    {
        using var p = Start(args);
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    static Dictionary<string, Tensor> ModelTensors(string run) =>
        Checkpoint.Load(Path.Combine(run, "checkpoints", "last.safetensors")).Tensors
            .Where(kv => kv.Key.StartsWith("model.")).ToDictionary();

    [SkippableFact]
    public void KilledRunResumesToTheSameWeightsAsAStraightRun()
    {
        RequiredData.RequireFashionMnist(new[] { "train-images-idx3-ubyte", "t10k-images-idx3-ubyte" });
        var root = Directory.CreateTempSubdirectory("wb-e2e").FullName;
        string straight = Path.Combine(root, "straight"), killed = Path.Combine(root, "killed");
        var common = new[] { "train", "vae", "--steps", "12", "--seed", "3" }.Concat(TinyVae).ToArray();

        var a = RunToEnd(common.Concat(new[] { "--out", straight, "--checkpoint-every", "4" }).ToArray());
        Assert.True(a.Code == 0, a.Err);

        // Kill (SIGKILL, no chance to clean up) as soon as the first checkpoint exists.
        using (var p = Start(common.Concat(new[] { "--out", killed, "--checkpoint-every", "2" }).ToArray()))
        {
            // Drain its output, or it blocks on a full pipe before it ever writes a checkpoint.
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var ck = Path.Combine(killed, "checkpoints", "last.safetensors");
            var clock = Stopwatch.StartNew();
            while (!File.Exists(ck) && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(20);
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        Assert.True(File.Exists(Path.Combine(killed, "checkpoints", "last.safetensors")), "the killed run left no checkpoint");
        var killedAt = Checkpoint.ReadInfo(Path.Combine(killed, "checkpoints", "last.safetensors")).Step;
        var b = RunToEnd("train", "--resume", killed);
        Assert.True(b.Code == 0, b.Err);
        if (killedAt < 12) Assert.Contains($"resuming {killed} at step {killedAt}", b.Err);

        var (ta, tb) = (ModelTensors(straight), ModelTensors(killed));
        Assert.Equal(ta.Keys.Order(), tb.Keys.Order());
        foreach (var (k, t) in ta) Assert.True((t == tb[k]).all().item<bool>(), $"{k} differs after resuming from step {killedAt}");

        // The closing JSON line names its fields plainly.
        using var json = JsonDocument.Parse(b.Out.Trim().Split('\n')[^1]);
        var r = json.RootElement;
        Assert.Equal("vae", r.GetProperty("model").GetString());
        Assert.Equal(12, r.GetProperty("steps").GetInt64());
        Assert.Equal(killed, r.GetProperty("run").GetString());
        Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        Assert.InRange(r.GetProperty("test_bpd_iw").GetDouble(), 0.5, 20);
        Assert.True(r.GetProperty("test_bpd_iw").GetDouble() <= r.GetProperty("test_bpd_elbo").GetDouble() + 1e-3);
        Assert.Equal(20, r.GetProperty("iw_samples").GetInt32());

        // sample and eval read the run back.
        var png = Path.Combine(root, "grid.png");
        var s = RunToEnd("sample", killed, "--n", "4", "--temperature", "0.8", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(new FileInfo(png).Length > 100);
        var e = RunToEnd("eval", killed, "--eval-limit", "16", "--quality", "0");
        Assert.True(e.Code == 0, e.Err);
        using var ej = JsonDocument.Parse(e.Out.Trim().Split('\n')[^1]);
        Assert.Equal(16, ej.RootElement.GetProperty("eval_examples").GetInt64());
    }

    [Fact]
    public void SetWithAnUnknownKeyListsModelAndTrainingSettings()
    {
        var (code, _, err) = CliTestHost.Run("train", "vae", "--set", "Depth=3", "--steps", "1", "--out", Path.Combine(Path.GetTempPath(), "wb-never"));
        Assert.Equal(2, code);
        Assert.Contains("no setting 'Depth'", err);
        Assert.Contains("StemChannels (int) = 12", err);
        Assert.Contains("LearningRate (double)", err);
    }
}
