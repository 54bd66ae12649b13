using Xunit.Abstractions;

namespace Workbench.Tests.Notebooks;

/// <summary>The stdio kernel client against the real dotnet-interactive, on a tiny notebook of its own
/// (TestData/stdio-kernel.ipynb): success, outputs, parameters, a NuGet reference, and a failing cell.</summary>
public class StdioKernelTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task RunsATinyNotebookAndReportsOutputsParametersAndTheFailingCell()
    {
        await ExternalKernel.EnsureToolRestoredAsync();
        var notebook = TestNotebooks.TestData("stdio-kernel.ipynb");

        var run = await StdioNotebookRun.RunAsync(notebook, new Dictionary<string, string> { ["greeting"] = "\"overridden\"" },
            cellTimeout: TimeSpan.FromMinutes(5));
        output.WriteLine($"kernel startup {run.KernelStartup.TotalSeconds:0.0} s, whole run {run.Total.TotalSeconds:0.0} s");
        output.WriteLine(ExternalKernel.Describe(run));
        var why = ExternalKernel.Describe(run);

        // cells 1..6 ran (plus the injected parameters after cell 3); the run stopped at the failing cell 6
        Assert.Equal(["stdio-kernel.ipynb cell 1", "stdio-kernel.ipynb cell 2", "stdio-kernel.ipynb cell 3",
            "stdio-kernel.ipynb injected-parameters (after cell 3)", "stdio-kernel.ipynb cell 4",
            "stdio-kernel.ipynb cell 5", "stdio-kernel.ipynb cell 6"], run.Cells.Select(c => c.Label));
        Assert.True(run.Cells.Take(6).All(c => c.Succeeded && c.Failure is null), why);

        var display = run.Cells[0].Formatted.Single();
        Assert.Equal("display", display.Kind);
        Assert.Equal("text/html", display.MimeType);
        Assert.Contains("<pre>2</pre>", display.Value);

        Assert.Equal([new KernelOutput("stdout", "text/plain", "hello from stdout\n"), new KernelOutput("stderr", "text/plain", "hello from stderr\n")],
            run.Cells[1].Outputs);
        Assert.Equal([new KernelOutput("stderr", "text/plain", "hello from stderr\n")], run.Cells[1].Errors);

        Assert.Equal("greeting = \"overridden\";\n", run.Cells[3].Code);
        var greeting = Assert.Single(run.Cells[4].Formatted);
        Assert.Equal("return", greeting.Kind);
        Assert.Contains("greeting is overridden", greeting.Value);

        var frame = run.Cells[5].Formatted.Where(o => o.Kind == "return" && o.MimeType == "text/html").ToList();
        Assert.True(frame.Count == 1 && frame[0].Value.Contains("<table") && frame[0].Value.Contains("<td>b</td>"), why);

        var failed = run.Cells[6];
        Assert.False(failed.Succeeded);
        Assert.Contains("InvalidOperationException: a planted failure", failed.Failure);
        Assert.Same(failed, run.FirstFailure);
    }

    [SkippableFact]
    public async Task ReportsCompileErrorsAndExceptionsGoesOnAfterThemAndTimesOutACellThatDoesNotFinish()
    {
        await ExternalKernel.EnsureToolRestoredAsync();
        using var kernel = await StdioKernel.StartAsync(ExternalKernel.RepoRoot(), TimeSpan.FromMinutes(3));
        output.WriteLine($"kernel startup {kernel.StartupTime.TotalSeconds:0.0} s");

        var ok = await kernel.SubmitCodeAsync("ok", "var x = 20; x + 1", TimeSpan.FromMinutes(2));
        Assert.True(ok.Succeeded, ok.Failure);
        Assert.Contains(ok.Formatted, o => o is { Kind: "return", MimeType: "text/html" } && o.Value.Contains("<pre>21</pre>"));

        var bad = await kernel.SubmitCodeAsync("compile error", "int y = \"not an int\";", TimeSpan.FromMinutes(2));
        Assert.False(bad.Succeeded);
        Assert.Contains("CS0029", bad.Failure);

        var thrown = await kernel.SubmitCodeAsync("throws", "throw new ArgumentException(\"thrown on purpose\");", TimeSpan.FromMinutes(2));
        Assert.False(thrown.Succeeded);
        Assert.Contains("ArgumentException: thrown on purpose", thrown.Failure);

        var after = await kernel.SubmitCodeAsync("after the failures", "x * 2", TimeSpan.FromMinutes(2));
        Assert.True(after.Succeeded, after.Failure); // the kernel goes on after failed cells, and so does the client
        Assert.Contains(after.Formatted, o => o.Value.Contains("<pre>40</pre>"));

        var slow = await kernel.SubmitCodeAsync("slow", "System.Threading.Thread.Sleep(60_000);", TimeSpan.FromSeconds(3));
        Assert.False(slow.Succeeded);
        Assert.Contains("timed out", slow.Failure);
    }
}
