using System.Text.Json.Nodes;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>Every notebook in notebooks/ runs top to bottom in quick mode, with no error output.</summary>
[Collection(nameof(NotebookKernel))]
public class AllNotebooksTests
{
    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Workbench.sln above {AppContext.BaseDirectory}");
    }

    public static TheoryData<string> Notebooks()
    {
        var data = new TheoryData<string>();
        foreach (var nb in Directory.GetFiles(Path.Combine(RepoRoot(), "notebooks"), "*.ipynb").Order())
            data.Add(Path.GetFileName(nb));
        return data;
    }

    /// <summary>DESIGN.md's "Notebook files": nbformat 4.5 with Polyglot metadata, no outputs, a
    /// parameters cell with a quick flag.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void FollowsTheNotebookConventions(string notebook)
    {
        var path = Path.Combine(RepoRoot(), "notebooks", notebook);
        var source = TestNotebooks.Load(path);
        TestNotebooks.AssertValid(source);
        Assert.Equal(".net-csharp", (string?)source["metadata"]?["kernelspec"]?["name"]);
        Assert.Equal("csharp", (string?)source["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]);
        var code = TestNotebooks.Cells(source).Where(c => (string?)c["cell_type"] == "code").ToList();
        Assert.All(code, c =>
        {
            Assert.Empty(c["outputs"]!.AsArray()); // committed without outputs
            Assert.Null((int?)c["execution_count"]);
            Assert.Equal("csharp", (string?)c["metadata"]?["dotnet_interactive"]?["language"]);
            Assert.Equal("csharp", (string?)c["metadata"]?["polyglot_notebook"]?["kernelName"]);
        });
        var setup = TestNotebooks.Text(code[0]["source"]);
        Assert.Contains("#r \"nuget: TorchSharp-cpu,", setup);
        // Nothing that references FSharp.Core 10.1 (Plotly.NET) may load in the kernel, which holds 10.0.
        Assert.DoesNotContain("Plotly.NET", setup);
        Assert.Equal(Parameters.Tag, Assert.Single(TestNotebooks.Tags(code[1])));
        Assert.Contains(Parameters.Declared(TestNotebooks.Text(code[1]["source"])), p => p.Name == "quick" && p.TypeName == "bool");
        // libtorch's threads are a parameter, applied through Devices' default rule before any training
        Assert.Contains(Parameters.Declared(TestNotebooks.Text(code[1]["source"])), p => p.Name == "threads" && p.TypeName == "int");
        Assert.Contains(code.Skip(2), c => TestNotebooks.Text(c["source"]).Contains("Devices.ConfigureThreads(threads);", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [MemberData(nameof(Notebooks))]
    public Task RunsInQuickModeWithoutErrors(string notebook) => RunsInQuickMode(notebook);

    /// <summary>The paper notebooks open the zoo's trained models by default; their other path (train from scratch)
    /// runs too.</summary>
    [SkippableTheory]
    [InlineData("01-glow.ipynb", "pretrained", "false")]
    [InlineData("02-stylegan2.ipynb", "pretrained", "false")]
    [InlineData("03-nvae.ipynb", "pretrained", "false")]
    [InlineData("04-compare.ipynb", "source", "scratch")]
    [InlineData("05-diffusion.ipynb", "pretrained", "false")]
    public Task RunsFromScratchInQuickModeWithoutErrors(string notebook, string parameter, string value) =>
        RunsInQuickMode(notebook, new KeyValuePair<string, string>(parameter, value));

    /// <summary>Runs the notebook in quick mode with these parameters, checks it, and returns the text of its
    /// stdout streams (for tests that look for what a section printed).</summary>
    internal static async Task<string> RunsInQuickMode(string notebook, params KeyValuePair<string, string>[] parameters)
    {
        var path = Path.Combine(RepoRoot(), "notebooks", notebook);
        if (RequiredData.NotebookNeedsFashionMnist(path)) RequiredData.RequireFashionMnist();

        var outDir = Path.Combine(Path.GetTempPath(), "wb-nb-tests", "all-" + Guid.NewGuid().ToString("N")[..8]);
        var run = await NotebookRunner.RunAsync(path, new RunOptions { Quick = true, OutputDirectory = outDir, Parameters = parameters });
        Assert.True(run.Succeeded, run.Failure?.Message);
        var outputs = run.AllOutputs;
        var errors = outputs.Where(o => (string?)o["output_type"] == "error" || (string?)o["name"] == "stderr").ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.ToJsonString())));
        string Html(JsonObject o) => TestNotebooks.Text(o["data"]?["text/html"]);
        // What each notebook shows: live and static charts, image grids, DataFrames.
        Assert.Contains(outputs, o => Html(o).Contains("workbench-chart", StringComparison.Ordinal));
        Assert.Contains(outputs, o => o["data"]?["image/png"] is not null);
        Assert.Contains(outputs, o => Html(o).Contains("<table", StringComparison.Ordinal));
        Assert.DoesNotContain(outputs, o => TestNotebooks.Text(o["data"]?["text/plain"]).StartsWith("Chart(", StringComparison.Ordinal));
        TestNotebooks.AssertValid(TestNotebooks.Load(run.NotebookOutputPath!));
        Directory.Delete(outDir, recursive: true);
        return string.Concat(outputs.Where(o => (string?)o["name"] == "stdout").Select(o => TestNotebooks.Text(o["text"])));
    }
}
