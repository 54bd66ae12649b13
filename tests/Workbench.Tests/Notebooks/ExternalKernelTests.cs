using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Workbench.Tests.Notebooks;

/// <summary>Finding the repository and the pinned dotnet-interactive tool for the external-kernel tests.</summary>
internal static class ExternalKernel
{
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Workbench.sln above {AppContext.BaseDirectory}");
    }

    static readonly Lazy<Task<string?>> Restore = new(() => RestoreToolAsync());

    /// <summary>Runs <c>dotnet tool restore</c> in the repository root (once per test run). When it fails (no
    /// registry reachable) the calling [SkippableFact] is reported SKIPPED with the tool's own output as the reason.</summary>
    public static async Task EnsureToolRestoredAsync()
    {
        if (await Restore.Value is { } reason) throw new SkipTestException(reason);
    }

    static async Task<string?> RestoreToolAsync()
    {
        var (exit, output) = await RunAsync(RepoRoot(), TimeSpan.FromMinutes(10), "tool", "restore");
        return exit == 0 ? null
            : $"the .NET Interactive tool could not be restored (dotnet tool restore exited {exit}), so the real kernel cannot run here:\n{output}";
    }

    /// <summary>Runs dotnet with <paramref name="args"/>; returns the exit code and stdout+stderr.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"dotnet {string.Join(' ', args)} did not finish within {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>A readable account of a run for assertion messages.</summary>
    public static string Describe(StdioNotebookRun run) => string.Join("\n", run.Cells.Select(c =>
        $"  {c.Label}: {(c.Succeeded ? "ok" : "FAILED: " + c.Failure)} ({c.Elapsed.TotalSeconds:0.0} s)"
        + string.Concat(c.Outputs.Select(o => "\n    " + o))));
}

/// <summary>
/// The notebooks run through the real .NET Interactive kernel as VS Code's Polyglot Notebooks starts it
/// (<c>dotnet interactive stdio</c> in notebooks/, a separate process), so a break in the real kernel (an assembly
/// version it cannot load, a formatter it does not pick up) cannot hide behind the in-process NotebookRunner.
/// </summary>
public partial class ExternalKernelTests(ITestOutputHelper output)
{
    /// <summary>Local (non-NuGet) <c>#r "path"</c> references of a notebook's code.</summary>
    static readonly Regex LocalReference = new("""^\s*#r\s+"(?!nuget:)([^"]+)"\s*$""", RegexOptions.Multiline);

    [SkippableFact]
    public Task TourRunsInTheRealKernelInQuickMode() => RunsInTheRealKernelInQuickMode("00-tour.ipynb");

    /// <summary>The paper notebooks, one kernel each, in order (about a minute together on two cores). Those that
    /// need a dataset this machine lacks are left out, and the test then reports itself SKIPPED naming them (after
    /// the others ran and passed).</summary>
    [SkippableFact]
    public async Task PaperNotebooksRunInTheRealKernelInQuickMode()
    {
        var skipped = new List<string>();
        foreach (var notebook in new[] { "01-glow.ipynb", "02-stylegan2.ipynb", "03-nvae.ipynb", "04-compare.ipynb", "05-diffusion.ipynb", "06-autoregressive.ipynb", "07-vqvae.ipynb", "08-gans.ipynb" })
        {
            try { await RunsInTheRealKernelInQuickMode(notebook); }
            catch (SkipTestException e) when (e.Message.StartsWith("Fashion-MNIST", StringComparison.Ordinal))
            {
                output.WriteLine($"{notebook}: {e.Message}");
                skipped.Add(notebook);
            }
        }
        if (skipped.Count > 0)
            throw new SkipTestException($"{string.Join(", ", skipped)} not run: {RequiredData.FashionMnistMissing()}");
    }

    async Task RunsInTheRealKernelInQuickMode(string name)
    {
        var root = ExternalKernel.RepoRoot();
        var notebook = Path.Combine(root, "notebooks", name);
        if (RequiredData.NotebookNeedsFashionMnist(notebook)) RequiredData.RequireFashionMnist();
        await ExternalKernel.EnsureToolRestoredAsync();
        await EnsureLocalReferencesResolve(root, notebook);

        var run = await StdioNotebookRun.RunAsync(notebook, new Dictionary<string, string> { ["quick"] = "true" },
            cellTimeout: TimeSpan.FromMinutes(10));
        output.WriteLine($"kernel startup {run.KernelStartup.TotalSeconds:0.0} s, whole run {run.Total.TotalSeconds:0.0} s");
        output.WriteLine(ExternalKernel.Describe(run));

        if (run.FirstFailure is { } failed)
            Assert.Fail($"{name} failed in the real kernel at {failed.Label}:\n{failed.Failure}");
        var codeCells = IpynbCell.Load(notebook).Count(c => c.CellType == "code");
        Assert.Equal(codeCells + 1, run.Cells.Count); // every code cell, plus the injected parameters
        var errors = run.Cells.SelectMany(c => c.Errors.Select(e => $"{c.Label}: {e}")).ToList();
        Assert.True(errors.Count == 0, $"{name} wrote errors in the real kernel:\n" + string.Join("\n", errors));

        var formatted = run.Cells.SelectMany(c => c.Formatted).ToList();
        Assert.True(formatted.Any(o => o.MimeType == "text/html" && o.Value.Contains("workbench-chart")),
            $"{name}: no text/html chart (a workbench-chart div) among the outputs:\n" + ExternalKernel.Describe(run));
        Assert.True(formatted.Any(o => o.MimeType == "image/png" && o.Value.Length > 100),
            $"{name}: no image/png (the image grids) among the outputs:\n" + ExternalKernel.Describe(run));
        Assert.True(formatted.Any(o => o.MimeType == "text/html" && o.Value.Contains("<table")),
            $"{name}: no DataFrame rendered as an HTML table among the outputs:\n" + ExternalKernel.Describe(run));
        // Numbers shown to what they mean: no table cell or displayed number with a double's 17 digits
        var longNumbers = formatted.Where(o => o.MimeType == "text/html").SelectMany(o => DisplayedNumber().Matches(o.Value))
            .Select(m => m.Groups[1].Value).Where(v => SignificantDigits(v) > 8).ToList();
        Assert.True(longNumbers.Count == 0, $"{name}: numbers displayed with more than eight significant digits: {string.Join(", ", longNumbers.Take(5))}");

        // Live outputs update in place: every update names a display the front end was shown (VS Code replaces
        // that output), and a live chart's updates are charts, not the text "Chart(...)".
        var shown = formatted.Where(o => o.Kind == "display" && o.ValueId is not null).Select(o => o.ValueId).ToHashSet();
        var updates = formatted.Where(o => o.Kind == "update").ToList();
        Assert.Contains(updates, o => o.MimeType == "text/html" && o.Value.Contains("workbench-chart"));
        Assert.Contains(updates, o => o.MimeType == "text/html" && o.Value.Contains("workbench-progress"));
        Assert.All(updates, o => Assert.Contains(o.ValueId, shown));
        Assert.DoesNotContain(formatted, o => o.MimeType == "text/plain" && o.Value.StartsWith("Chart(", StringComparison.Ordinal));
    }

    /// <summary>The notebook's <c>#r "../src/Workbench/bin/Debug/net8.0/Workbench.dll"</c> must resolve from
    /// notebooks/ and be the Workbench this test was built with; when it is missing or differs (the tests were built
    /// in another configuration), build src/Workbench in Debug.</summary>
    async Task EnsureLocalReferencesResolve(string root, string notebook)
    {
        var dir = Path.GetDirectoryName(notebook)!;
        var references = IpynbCell.Load(notebook).Where(c => c.CellType == "code")
            .SelectMany(c => LocalReference.Matches(c.Source).Select(m => m.Groups[1].Value)).ToList();
        Assert.NotEmpty(references);
        foreach (var reference in references)
        {
            var path = Path.GetFullPath(Path.Combine(dir, reference));
            var ours = Path.Combine(AppContext.BaseDirectory, Path.GetFileName(path));
            var current = File.Exists(path) && File.Exists(ours) && File.ReadAllBytes(path).AsSpan().SequenceEqual(File.ReadAllBytes(ours));
            if (!current && Path.GetFileName(path) == "Workbench.dll")
            {
                output.WriteLine($"{path} is missing or not this build's: building src/Workbench (Debug)");
                var (exit, log) = await ExternalKernel.RunAsync(root, TimeSpan.FromMinutes(10),
                    "build", Path.Combine("src", "Workbench", "Workbench.csproj"), "-c", "Debug", "-nologo", "-v", "q");
                Assert.True(exit == 0, $"building src/Workbench failed:\n{log}");
            }
            Assert.True(File.Exists(path), $"{Path.GetFileName(notebook)}'s #r \"{reference}\" does not resolve from {dir}: no {path}");
        }
    }

    /// <summary>A number with a fraction or an exponent, alone in a displayed value (a DataFrame cell, a displayed double).</summary>
    [GeneratedRegex(@"<pre>(-?\d*\.\d+(?:E[-+]?\d+)?|-?\d+E[-+]?\d+)</pre>")]
    private static partial Regex DisplayedNumber();

    static int SignificantDigits(string number) =>
        number.Split('E')[0].Replace("-", "").Replace(".", "").TrimStart('0').Length;
}
