using System.Text.Json.Nodes;
using Workbench.Notebooks;
using static Workbench.Tests.Notebooks.TestNotebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>A type that declares its formatters the way the Workbench library does: through an attribute that
/// the kernel recognises by its name alone, with duck-typed formatters.</summary>
[FormatterConvention.TypeFormatterSource(typeof(FormatterConvention.Source))]
public sealed class Swatch(string colour)
{
    public string Colour { get; } = colour;
    public override string ToString() => $"Swatch({Colour})";
}

public static class FormatterConvention
{
    [AttributeUsage(AttributeTargets.Class)]
    public sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
    {
        public Type FormatterSourceType { get; } = formatterSourceType;
    }

    public sealed class Source
    {
        public IEnumerable<object> CreateTypeFormatters() => [new Html()];
    }

    public sealed class Html
    {
        public string MimeType => "text/html";
        public bool Format(object instance, TextWriter writer)
        {
            if (instance is not Swatch s) return false;
            writer.Write($"<div style=\"background:{s.Colour}\">{s.Colour}</div>");
            return true;
        }
    }
}

/// <summary>The notebook tests share the process's current directory and the kernel's global formatter state.</summary>
[CollectionDefinition(nameof(NotebookKernel), DisableParallelization = true)]
public sealed class NotebookKernel;

/// <summary>Runs one notebook that exercises every feature, once, for the tests below.</summary>
public sealed class FeatureNotebook : IDisposable
{
    public void Dispose() => Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);

    public string Path { get; }
    public string OutputDirectory { get; }
    public RunResult Result { get; }

    public FeatureNotebook()
    {
        Path = Write("features",
            Markdown("# Feature tour\nSome *emphasis*."),
            Code("#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"nuget: Microsoft.Data.Analysis, 0.23.1\"\n" +
                 "#WORKBENCH#\n#TESTS#\nusing TorchSharp;\nusing Microsoft.DotNet.Interactive;\nusing static TorchSharp.torch;", "setup"),
            Code("var quick = false;\nvar steps = 10;\nvar label = \"x\";", "params", Parameters.Tag),
            Code("Console.WriteLine($\"steps={steps} quick={quick} label={label}\");\nConsole.Error.WriteLine(\"warn\");\nConsole.Write(\"a\");\nConsole.Write(\"b\\n\");", "console"),
            Code("var h = KernelInvocationContext.Current.Display(\"v0\");\nfor (int i = 1; i <= 3; i++) h.Update($\"v{i}\");\n" +
                 "new Workbench.Tests.Notebooks.Swatch(\"teal\").Display();\n41 + 1", "display"),
            Code("var n = 5;", "statement"),
            Code("Console.WriteLine(\"void\")", "void"),
            Code("Tensor kept, dropped;\nusing (var scope = NewDisposeScope())\n{\n    dropped = ones(3);\n    kept = (dropped * 2).MoveToOuterDisposeScope();\n}\n" +
                 "async Task<int> Later() { await Task.Delay(10); return 41; }\nvar blocked = Later().Result + 1;\n" +
                 "var awaited = await Later();\n$\"{kept.sum().item<float>()} {dropped.IsInvalid} {blocked} {awaited}\"", "scopes"),
            Code("HTML(\"<b>bold</b>\")", "html"),
            Code("var live = KernelInvocationContext.Current.Display(Workbench.Plots.Charts.Empty(\"loss\"));\n" +
                 "live.Update(Workbench.Plots.Charts.Lines(new[] { new Workbench.Plots.Series(\"loss\", new double[] { 1, 2 }, new double[] { 3, 1 }) }));\n" +
                 "new Microsoft.Data.Analysis.DataFrame(new Microsoft.Data.Analysis.Int32DataFrameColumn(\"a\", new[] { 1, 2 }))", "chart"),
            Code("typeof(Workbench.Training.Devices).Assembly.Location", "bound"),
            Code("var legacy = display(\"w0\");\nlegacy.Update(\"w1\");\nlegacy.Update(\"w2\");", "legacy"));
        var text = File.ReadAllText(Path)
            .Replace("#WORKBENCH#", Escape(ReferenceTo(Path, typeof(Workbench.Training.Devices).Assembly)))
            .Replace("#TESTS#", Escape(ReferenceTo(Path, typeof(FeatureNotebook).Assembly)));
        File.WriteAllText(Path, text);
        OutputDirectory = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, "out");
        Result = NotebookRunner.RunAsync(Path, new RunOptions
        {
            Parameters = [KeyValuePair.Create("steps", "3"), KeyValuePair.Create("label", "y")],
            Quick = true,
            OutputDirectory = OutputDirectory,
            Html = true,
        }).GetAwaiter().GetResult();

        static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
    }
}

[Collection(nameof(NotebookKernel))]
public class NotebookRunnerTests(FeatureNotebook feature) : IClassFixture<FeatureNotebook>
{
    readonly RunResult _run = feature.Result;

    static string Text(JsonObject output) => TestNotebooks.Text(output["text"]);
    static string Data(JsonObject output, string mime) => TestNotebooks.Text(output["data"]?[mime]);

    [Fact]
    public void EveryCellRunsAndTheWrittenNotebookIsValidNbformat45()
    {
        Assert.True(_run.Succeeded, _run.Failure?.Message);
        AssertValid(_run.Executed!);
        var written = Load(_run.NotebookOutputPath!);
        AssertValid(written);
        var code = Cells(written).Where(c => (string?)c["cell_type"] == "code").ToList();
        Assert.Equal(Enumerable.Range(1, code.Count), code.Select(c => (int?)c["execution_count"] ?? 0));
        Assert.All(code, c => Assert.NotNull(c["metadata"]?["execution"]?["shell.execute_reply"]));
        Assert.Equal("ok", (string?)written["metadata"]?["workbench_run"]?["status"]);
        // What came in is still there: notebook metadata, cell ids, tags.
        Assert.Equal(".net-csharp", (string?)written["metadata"]?["kernelspec"]?["name"]);
        Assert.Equal("setup", (string?)Cells(written)[1]["id"]);
        Assert.Equal([Parameters.Tag], Tags(Cells(written)[2]));
    }

    [Fact]
    public void ParametersAreInjectedInACellAfterTheParametersCell()
    {
        var cells = Cells(_run.Executed!);
        Assert.Equal("params", (string?)cells[2]["id"]);
        Assert.Equal([Parameters.InjectedTag], Tags(cells[3]));
        var injected = TestNotebooks.Text(cells[3]["source"]);
        Assert.Contains("steps = 3;", injected);
        Assert.Contains("quick = true;", injected);
        Assert.StartsWith("steps=3 quick=True label=y\n", Text(_run.Outputs(4)[0]));
    }

    [Fact]
    public void ConsoleOutputBecomesStreamsInOrder()
    {
        var outputs = _run.Outputs(4);
        Assert.Equal(["stdout", "stderr", "stdout"], outputs.Select(o => (string?)o["name"]));
        Assert.Equal("warn\n", Text(outputs[1]));
        Assert.Equal("ab\n", Text(outputs[2]));
    }

    [Fact]
    public void DisplayKeepsTheLastUpdateAndTrailingValueIsTheResult()
    {
        var outputs = _run.Outputs(5);
        Assert.Equal(["display_data", "display_data", "execute_result"], outputs.Select(o => (string?)o["output_type"]));
        Assert.Equal("v3", Data(outputs[0], "text/plain"));
        Assert.Contains("background:teal", Data(outputs[1], "text/html")); // the type's own formatter, found by name
        Assert.Contains("42", Data(outputs[2], "text/html"));
        Assert.Equal(5, (int?)outputs[2]["execution_count"]); // the injected cell has count 3
    }

    [Fact]
    public void StatementsAndVoidCallsHaveNoResult()
    {
        Assert.Empty(_run.Outputs(6));
        Assert.Equal(["stream"], _run.Outputs(7).Select(o => (string?)o["output_type"]));
    }

    [Fact]
    public void DisposeScopesWorkInACellAndBlockingOnTasksDoesNotDeadlock()
    {
        Assert.Contains("6 True 42 41", Data(_run.Outputs(8).Single(), "text/plain"));
    }

    [Fact]
    public void LiveChartsStayHtmlAndDataFramesUseTheirPackagesFormatter()
    {
        Assert.Equal("<b>bold</b>", Data(_run.Outputs(9).Single(), "text/html"));
        var outputs = _run.Outputs(10);
        Assert.Equal(2, outputs.Count);
        var chart = Data(outputs[0], "text/html");
        Assert.Contains("workbench-chart", chart);
        Assert.Contains("\"loss\"", chart);           // the update, not the empty first value
        Assert.Contains("\"scatter\"", chart);
        Assert.Contains("<table", Data(outputs[1], "text/html")); // Microsoft.Data.Analysis's kernel extension
        Assert.Contains("<th>a</th>", Data(outputs[1], "text/html"));
    }

    [Fact]
    public void RelativeDllBindsToTheLoadedLibrary()
    {
        Assert.Contains(typeof(Workbench.Training.Devices).Assembly.Location, Data(_run.Outputs(11).Single(), "text/plain"));
    }

    /// <summary>The kernel's display(x) returns a handle whose updates carry an id the front end never saw; the
    /// runner keeps the first value and one slot for the latest update instead of losing either.</summary>
    [Fact]
    public void UpdatesOfAnUnknownDisplayKeepOneSlot()
    {
        var outputs = _run.Outputs(12);
        Assert.Equal(["w0", "w2"], outputs.Select(o => Data(o, "text/plain")));
    }

    [Fact]
    public void HtmlReportRendersMarkdownCodeAndOutputsWithPlotlyJsOnce()
    {
        var html = File.ReadAllText(_run.HtmlOutputPath!);
        Assert.Contains("<h1", html);
        Assert.Contains("Feature tour</h1>", html);
        Assert.Contains("<em>emphasis</em>", html);
        Assert.Contains("Console.Error.WriteLine(&quot;warn&quot;);", html);
        Assert.Contains("<b>bold</b>", html);
        Assert.Contains("background:teal", html);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "data-workbench-plotlyjs"));
    }
}

[Collection(nameof(NotebookKernel))]
public class NotebookRunnerFailureTests
{
    /// <summary>Cancels the run shortly after a progress line containing <paramref name="line"/> is written.</summary>
    sealed class CancelAfterLine(string line, CancellationTokenSource stop) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(line) == true) stop.CancelAfter(300);
        }
    }

    [Fact]
    public async Task ARuntimeExceptionNamesNotebookAndCellAndStopsTheRun()
    {
        var path = Write("fails",
            Markdown("# Failing"),
            Code("int Divide(int x, int y)\n{\n    return x / y;\n}", "helpers"),
            Code("var b = 2;\nvar z = 0;\nvar c = Divide(b, z);\nConsole.WriteLine(c);", "boom"),
            Code("Console.WriteLine(\"after\");", "after"));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        var progress = new StringWriter();
        var run = await NotebookRunner.RunAsync(path, new RunOptions { OutputDirectory = outDir, Progress = progress });

        Assert.False(run.Succeeded);
        var lines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(2, lines.Count); // one per code cell run: the last never ran
        Assert.Matches(@"^\[fails\] cell 2/4 ok [0-9]+\.[0-9] s$", lines[0]);
        Assert.Matches(@"^\[fails\] cell 3/4 FAILED [0-9]+\.[0-9] s$", lines[1]);
        var f = run.Failure!;
        Assert.Equal((3, "boom"), (f.Cell, f.CellId));
        Assert.Contains("fails.ipynb: cell 3 (id boom): System.DivideByZeroException", f.Message);
        Assert.Contains(".Divide(Int32 x, Int32 y))", f.Message); // where it was raised

        // The partial notebook is written, valid, with the error as the cell's output and the rest not run.
        var written = Load(run.NotebookOutputPath!);
        AssertValid(written);
        var cells = Cells(written);
        var error = Assert.Single(cells[2]["outputs"]!.AsArray().OfType<JsonObject>());
        Assert.Equal(("error", "System.DivideByZeroException"), ((string?)error["output_type"], (string?)error["ename"]));
        Assert.Null((int?)cells[3]["execution_count"]);
        Assert.Empty(cells[3]["outputs"]!.AsArray());
        Assert.Equal("failed", (string?)written["metadata"]?["workbench_run"]?["status"]);
    }

    [Fact]
    public async Task ACompileErrorNamesTheCellAndTheLineWithinIt()
    {
        var path = Write("broken",
            Code("var ok = 1;"),
            Markdown("text"),
            Code("var x = 1;\nvar y = undefinedName + x;", "bad"));
        var run = await NotebookRunner.RunAsync(path);
        var f = run.Failure!;
        Assert.Equal((3, 2), (f.Cell, f.Line));
        Assert.Contains("broken.ipynb: cell 3 (id bad), line 2:", f.Message);
        Assert.Contains("CS0103", f.Message);
        Assert.Equal("error", (string?)Assert.Single(run.Outputs(3))["output_type"]);
        AssertValid(run.Executed!);
    }

    [Theory]
    [InlineData("stepz=5", "no such parameter")]
    [InlineData("steps=lots", "not a valid int")]
    public async Task ParameterErrorsStopTheRunBeforeAnythingRuns(string assignment, string expected)
    {
        var path = Write("params",
            Code("System.IO.File.WriteAllText(\"ran.txt\", \"\");"),
            Code("var steps = 10;", null, Parameters.Tag));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        var run = await NotebookRunner.RunAsync(path,
            new RunOptions { Parameters = [Parameters.ParseAssignment(assignment)], OutputDirectory = outDir });
        Assert.False(run.Succeeded);
        Assert.Contains("params.ipynb", run.Failure!.Message);
        Assert.Contains(expected, run.Failure.Message);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(path)!, "ran.txt")));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task APackageIsUsableFromTheCellThatReferencesItOn()
    {
        var path = Write("order", Code("var t = typeof(TorchSharp.torch);"), Code("#r \"nuget: TorchSharp-cpu, 0.107.0\""));
        var run = await NotebookRunner.RunAsync(path);
        Assert.Equal((1, 1), (run.Failure!.Cell, run.Failure.Line));
        Assert.Contains("CS0246", run.Failure.Message); // TorchSharp not found, as in Polyglot Notebooks
    }

    /// <summary>TorchSharp pulls in SkiaSharp 2.88 and its kernel extension; a later notebook in the same process
    /// that names SkiaSharp 3.119 brings the same extension again, from another folder.</summary>
    [Fact]
    public async Task NotebooksInOneProcessLoadPackagesWithKernelExtensionsAgain()
    {
        var first = await NotebookRunner.RunAsync(Write("torch-only", Code("#r \"nuget: TorchSharp-cpu, 0.107.0\"")));
        Assert.True(first.Succeeded, first.Failure?.Message);
        var second = await NotebookRunner.RunAsync(Write("skia", Code("#r \"nuget: SkiaSharp, 3.119.4\"\nnew SkiaSharp.SKBitmap(2, 2).Width")));
        Assert.True(second.Succeeded, second.Failure?.Message);
    }

    [Fact]
    public async Task ACellThatRunsTooLongTimesOutAndThePartialNotebookIsWritten()
    {
        var path = Write("slow", Code("Console.WriteLine(\"before\");", "first"),
            Code("var until = DateTime.UtcNow.AddSeconds(60);\nwhile (DateTime.UtcNow < until) System.Threading.Thread.Sleep(20);", "loop"),
            Code("Console.WriteLine(\"after\");", "last"));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Long enough for a cold kernel's first cell (Roslyn warms up), far shorter than the loop.
        var run = await NotebookRunner.RunAsync(path, new RunOptions { OutputDirectory = outDir, CellTimeout = TimeSpan.FromSeconds(10) });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), $"the run took {clock.Elapsed}");
        Assert.Equal((2, "loop"), (run.Failure!.Cell, run.Failure.CellId));
        Assert.Contains("slow.ipynb: cell 2 (id loop): timed out after 10 s", run.Failure.Message);
        var cells = Cells(Load(run.NotebookOutputPath!));
        Assert.Equal("before\n", TestNotebooks.Text(cells[0]["outputs"]![0]!["text"]));
        Assert.Equal("error", (string?)cells[1]["outputs"]![0]!["output_type"]);
        Assert.Null((int?)cells[2]["execution_count"]);
    }

    [Fact]
    public async Task CancellingTheRunNamesTheInterruptedCell()
    {
        var path = Write("stopped", Code("Console.WriteLine(1);"), Code("System.Threading.Thread.Sleep(3000);", "sleeper"));
        using var stop = new CancellationTokenSource();
        var progress = new CancelAfterLine("cell 1/2 ok", stop);
        var run = await NotebookRunner.RunAsync(path, new RunOptions { Cancellation = stop.Token, Progress = progress });
        Assert.Contains("stopped.ipynb: cell 2 (id sleeper): interrupted before it finished", run.Failure!.Message);
    }

    [Fact]
    public async Task QuickNeedsAParametersCell()
    {
        var run = await NotebookRunner.RunAsync(Write("noparams", Code("1")), new RunOptions { Quick = true });
        Assert.Contains("has no cell tagged 'parameters'", run.Failure!.Message);
    }

    [Fact]
    public async Task ACellOfAnotherKernelIsRefusedBeforeAnythingRuns()
    {
        var cell = Code("let x = 1");
        cell["metadata"]!["polyglot_notebook"]!["kernelName"] = "fsharp";
        cell["metadata"]!["dotnet_interactive"]!["language"] = "fsharp";
        var run = await NotebookRunner.RunAsync(Write("fs", Code("System.IO.File.WriteAllText(\"ran.txt\", \"\");"), cell));
        Assert.Contains("fs.ipynb: cell 2 is a 'fsharp' cell", run.Failure!.Message);
    }

    [Fact]
    public async Task AFileThatIsNotANotebookIsReported()
    {
        var path = Path.Combine(Path.GetTempPath(), "wb-nb-tests", "not-a-notebook.ipynb");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{ nope");
        var run = await NotebookRunner.RunAsync(path);
        Assert.Contains("not-a-notebook.ipynb: cannot be read as a notebook", run.Failure!.Message);
        Assert.Null(run.Executed);
    }

    [Fact]
    public async Task RefusesToOverwriteTheNotebookItselfBeforeRunning()
    {
        var path = Write("self", Code("1"));
        var run = await NotebookRunner.RunAsync(path, new RunOptions { OutputDirectory = Path.GetDirectoryName(path) });
        Assert.Contains("refusing to overwrite", run.Failure!.Message);
        Assert.Null(run.Executed);
    }
}
