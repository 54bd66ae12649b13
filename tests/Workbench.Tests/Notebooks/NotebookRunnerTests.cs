using System.Text.Json.Nodes;
using Workbench.Notebooks;
using Workbench.Notebooks.Scripting;
using static Workbench.Tests.Notebooks.TestNotebooks;

namespace Workbench.Tests.Notebooks;

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
            Code("#!csharp\n#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"nuget: Plotly.NET, 6.0.0\"\n#r \"nuget: Microsoft.Data.Analysis, 0.23.1\"\n" +
                 "#WORKBENCH#\n#TESTS#\nusing TorchSharp;\nusing static TorchSharp.torch;\nvar firstThread = Environment.CurrentManagedThreadId;", "setup"),
            Code("var quick = false;\nvar steps = 10;\nvar label = \"x\";", "params", Parameters.Tag),
            Code("Console.WriteLine($\"steps={steps} quick={quick} label={label}\");\nConsole.Error.WriteLine(\"warn\");\nConsole.Write(\"a\");\nConsole.Write(\"b\\n\");", "console"),
            Code("var h = display(\"v0\");\nfor (int i = 1; i <= 3; i++) h.Update($\"v{i}\");\nnew Workbench.Tests.Notebooks.Swatch(\"teal\").Display();\n41 + 1", "display"),
            Code("var n = 5;", "statement"),
            Code("Console.WriteLine(\"void\")", "void"),
            Code("var sameThread = Environment.CurrentManagedThreadId == firstThread;\nTensor kept, dropped;\n" +
                 "using (var scope = NewDisposeScope())\n{\n    dropped = ones(3);\n    kept = (dropped * 2).MoveToOuterDisposeScope();\n}\n" +
                 "async Task<int> Later() { await Task.Delay(10); return 41; }\nvar blocked = Later().Result + 1;\n" +
                 "var awaited = await Later();\n(sameThread, kept.sum().item<float>(), dropped.IsInvalid, blocked, awaited)", "thread"),
            Code("HTML(\"<b>bold</b>\")", "html"),
            Code("var tr = new Plotly.NET.Trace2D(\"scatter\");\ntr.SetProperty(\"y\", new[] { 1.0, 2.0 });\ndisplay(Plotly.NET.GenericChart.ofTraceObject(true, tr));\n" +
                 "new Microsoft.Data.Analysis.DataFrame(new Microsoft.Data.Analysis.Int32DataFrameColumn(\"a\", new[] { 1, 2 }))", "chart"),
            Code("typeof(Workbench.Training.Devices).Assembly.Location", "bound"));
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
        var written = NotebookDocument.Load(_run.NotebookOutputPath!);
        AssertValid(written);
        var code = written.Cells.Where(c => c.IsCode).ToList();
        Assert.Equal(Enumerable.Range(1, code.Count), code.Select(c => c.ExecutionCount ?? 0));
        Assert.All(code, c => Assert.NotNull(c.Metadata["execution"]?["shell.execute_reply"]));
        Assert.Equal("completed", (string?)written.Metadata["workbench_run"]?["status"]);
        // What came in is still there: notebook metadata and cell ids.
        Assert.Equal(".net-csharp", (string?)written.Metadata["kernelspec"]?["name"]);
        Assert.Equal("setup", written.Cells[1].Id);
    }

    [Fact]
    public void ParametersAreInjectedInACellAfterTheParametersCell()
    {
        var cells = _run.Executed!.Cells;
        Assert.Equal("params", cells[2].Id);
        Assert.Equal([Parameters.InjectedTag], cells[3].Tags);
        Assert.Contains("steps = 3;", cells[3].Source);
        Assert.Contains("quick = true;", cells[3].Source);
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
        Assert.Contains("background:teal", Data(outputs[1], "text/html")); // the type's own formatter
        Assert.Equal("iVBORw0KGgo=", Data(outputs[1], "image/png"));
        Assert.Equal("42", Data(outputs[2], "text/plain"));
        Assert.Equal(5, (int?)outputs[2]["execution_count"]); // the injected cell has count 3
    }

    [Fact]
    public void StatementsAndVoidCallsHaveNoResult()
    {
        Assert.Empty(_run.Outputs(6));
        Assert.Equal(["stream"], _run.Outputs(7).Select(o => (string?)o["output_type"]));
    }

    [Fact]
    public void CellsRunOnOneThreadSoDisposeScopesWorkAndBlockingOnTasksDoesNotDeadlock()
    {
        Assert.Equal("(True, 6, True, 42, 41)", Data(_run.Outputs(8).Single(), "text/plain"));
    }

    [Fact]
    public void HtmlChartsAndDataFramesAreFormatted()
    {
        Assert.Equal("<b>bold</b>", Data(_run.Outputs(9).Single(), "text/html"));
        var chart = _run.Outputs(10);
        Assert.Contains("newPlot(", Data(chart[0], "text/html"));
        Assert.StartsWith("<table class=\"dataframe\">", Data(chart[1], "text/html"));
    }

    [Fact]
    public void RelativeDllBindsToTheLoadedLibrary()
    {
        Assert.Equal(typeof(Workbench.Training.Devices).Assembly.Location, Data(_run.Outputs(11).Single(), "text/plain"));
    }

    [Fact]
    public void HtmlReportRendersMarkdownCodeAndOutputsWithPlotlyEmbeddedOnce()
    {
        var html = File.ReadAllText(_run.HtmlOutputPath!);
        Assert.Contains("<h1>Feature tour</h1>", html);
        Assert.Contains("<em>emphasis</em>", html);
        Assert.Contains("Console.Error.WriteLine(&quot;warn&quot;);", html);
        Assert.Contains("data:image/png;base64,iVBORw0KGgo=", html);
        Assert.Contains("<b>bold</b>", html);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, @"/\* plotly\.js "));
    }
}

public class NotebookRunnerFailureTests
{
    [Fact]
    public async Task ARuntimeExceptionNamesNotebookCellLineAndStopsTheRun()
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
        Assert.Equal(2, lines.Count); // one per code cell run: the third never ran
        Assert.Matches(@"^\[fails\] cell 2/4 ok [0-9]+\.[0-9] s$", lines[0]);
        Assert.Matches(@"^\[fails\] cell 3/4 FAILED [0-9]+\.[0-9] s$", lines[1]);
        var f = run.Failure!;
        Assert.Equal((3, 3, "boom"), (f.Cell, f.Line, f.CellId));
        Assert.Contains("fails.ipynb: cell 3 (id boom), line 3: System.DivideByZeroException", f.Message);
        Assert.Contains("raised in cell 2, line 3", f.Message);
        Assert.IsType<DivideByZeroException>(f.Exception);

        // The partial notebook is written, valid, with the error as the cell's output and the rest not run.
        var written = NotebookDocument.Load(run.NotebookOutputPath!);
        AssertValid(written);
        var error = Assert.Single(written.Cells[2].Outputs.OfType<JsonObject>());
        Assert.Equal(("error", "DivideByZeroException"), ((string?)error["output_type"], (string?)error["ename"]));
        Assert.Null(written.Cells[3].ExecutionCount);
        Assert.Empty(written.Cells[3].Outputs);
        Assert.Equal("failed", (string?)written.Metadata["workbench_run"]?["status"]);
    }

    [Fact]
    public async Task ACompileErrorNamesTheCellAndTheLineWithinIt()
    {
        var path = Write("broken",
            Code("var ok = 1;"),
            Markdown("text"),
            Code("#!csharp\nvar x = 1;\nvar y = undefinedName + x;", "bad"));
        var run = await NotebookRunner.RunAsync(path);
        var f = run.Failure!;
        Assert.Equal((3, 3), (f.Cell, f.Line));
        Assert.Contains("broken.ipynb: cell 3 (id bad), line 3: compilation failed", f.Message);
        Assert.Contains("CS0103", f.Message);
        var error = Assert.Single(run.Outputs(3));
        Assert.Equal("CompilationError", (string?)error["ename"]);
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
        Assert.All(run.Executed!.Cells, c => Assert.Null(c.ExecutionCount));
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

    [Fact]
    public async Task QuickNeedsAParametersCell()
    {
        var run = await NotebookRunner.RunAsync(Write("noparams", Code("1")), new RunOptions { Quick = true });
        Assert.Contains("no cell is tagged 'parameters'", run.Failure!.Message);
    }

    [Fact]
    public async Task APackageTheRunnerDoesNotCarryFailsBeforeAnythingRuns()
    {
        var path = Write("pkg", Code("Console.WriteLine(1);"), Code("using X;\n#r \"nuget: Newtonsoft.Json, 13.0.3\""));
        var run = await NotebookRunner.RunAsync(path);
        Assert.Equal((2, 2), (run.Failure!.Cell, run.Failure.Line));
        Assert.Contains("pkg.ipynb: cell 2", run.Failure.Message);
        Assert.Contains("does not carry Newtonsoft.Json", run.Failure.Message);
        Assert.All(run.Executed!.Cells, c => Assert.Null(c.ExecutionCount));
    }

    [Fact]
    public async Task ACellOfAnotherKernelIsRefused()
    {
        var cell = Code("let x = 1");
        cell["metadata"]!["polyglot_notebook"]!["kernelName"] = "fsharp";
        var run = await NotebookRunner.RunAsync(Write("fs", cell));
        Assert.Contains("kernel is 'fsharp'", run.Failure!.Message);
    }

    [Fact]
    public async Task AFileThatIsNotANotebookIsReported()
    {
        var path = Path.Combine(Path.GetTempPath(), "wb-nb-tests", "not-a-notebook.ipynb");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{ nope");
        var run = await NotebookRunner.RunAsync(path);
        Assert.Contains("not-a-notebook.ipynb: not valid JSON", run.Failure!.Message);
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

    [Fact]
    public void DisplayOutsideANotebookSaysSo()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Kernel.display(1));
        Assert.Contains("inside a notebook run", e.Message);
    }
}
