using System.Diagnostics;
using SkiaSharp;

namespace Workbench.Tests.Cli;

/// <summary>
/// What the run-folder tests share: a folder of 80 small random PNGs (a dataset that needs no download, through
/// <c>--data folder --image-size 8</c>), a tiny Glow's arguments, and the real executable for tests that kill it.
/// </summary>
public static class RunFixtures
{
    static readonly Lazy<string> Folder = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("wb-images").FullName;
        var rng = new Random(7);
        for (int i = 0; i < 80; i++)
        {
            using var bitmap = new SKBitmap(8, 8, SKColorType.Rgba8888, SKAlphaType.Premul);
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                    bitmap.SetPixel(x, y, new SKColor((byte)rng.Next(256), (byte)(x * 30), (byte)(y * 30)));
            using var image = SKImage.FromBitmap(bitmap);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(root, $"img{i:D3}.png"), data.ToArray());
        }
        return root;
    });

    /// <summary>The image folder (made once per test run).</summary>
    public static string Images => Folder.Value;

    /// <summary>A fresh, empty temporary folder; the run goes in <c>&lt;it&gt;/run</c>.</summary>
    public static string NewRun(string what) => Path.Combine(Directory.CreateTempSubdirectory("wb-" + what).FullName, "run");

    /// <summary>`train glow` on the image folder at 8x8 with a 2-level, 8-channel Glow, batch 8, 8 held-out images.</summary>
    public static string[] TinyGlow(string run, long steps, params string[] more) =>
        new[]
        {
            "train", "glow", "--data", Images, "--image-size", "8", "--steps", steps.ToString(), "--out", run,
            "--set", "Levels=2", "--set", "StepsPerLevel=1", "--set", "HiddenChannels=8", "--batch", "8",
            "--sample-every", "0", "--eval-limit", "8",
        }.Concat(more).ToArray();

    /// <summary>Starts the real `workbench` (the test bin's Workbench.Cli.dll), its output drained in the background.</summary>
    public static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["WORKBENCH_DEVICE"] = "cpu";
        psi.Environment["WORKBENCH_DOWNLOAD"] = "0";
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs the real executable to the end with extra environment variables; exit code and output.</summary>
    public static (int Code, string Out, string Err) RunProcess(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["WORKBENCH_DEVICE"] = "cpu";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    /// <summary>Waits (up to 3 minutes) until <paramref name="done"/> holds or the process exits.</summary>
    public static void WaitFor(Process p, Func<bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (!done() && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(20);
    }

    /// <summary>The steps of log.csv's training rows (rows with a train metric), in file order.</summary>
    public static List<long> TrainRows(string run, string metric = "train_bpd")
    {
        var lines = File.ReadAllLines(Path.Combine(run, "log.csv"));
        int col = Array.IndexOf(lines[0].Split(','), metric);
        Assert.True(col >= 0, $"log.csv has no {metric} column: {lines[0]}");
        return lines.Skip(1).Select(l => l.Split(',')).Where(c => c.Length > col && c[col].Length > 0).Select(c => long.Parse(c[0])).ToList();
    }

    /// <summary>The error output's `error:` line(s), asserting there is no stack trace.</summary>
    public static void AssertOneLineError(int code, string err, string contains)
    {
        Assert.True(code == 2, $"exit code {code}, expected 2; stderr: {err}");
        Assert.Contains(contains, err);
        Assert.DoesNotContain("   at ", err);
        var errors = err.Split('\n').Where(l => l.StartsWith("error: ")).ToList();
        Assert.True(errors.Count == 1, $"expected one error line: {err}");
        Assert.Contains(contains, errors[0]);
    }
}
