using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>Every notebook in notebooks/ runs top to bottom in quick mode, with no error output.</summary>
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
        var source = NotebookDocument.Load(path);
        TestNotebooks.AssertValid(source);
        Assert.Equal(".net-csharp", (string?)source.Metadata["kernelspec"]?["name"]);
        Assert.Equal("csharp", (string?)source.Metadata["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]);
        var code = source.Cells.Where(c => c.IsCode).ToList();
        Assert.All(code, c =>
        {
            Assert.Empty(c.Outputs); // committed without outputs
            Assert.Null(c.ExecutionCount);
            Assert.Equal("csharp", (string?)c.Metadata["dotnet_interactive"]?["language"]);
            Assert.Equal("csharp", (string?)c.Metadata["polyglot_notebook"]?["kernelName"]);
        });
        Assert.Contains("#r \"nuget: TorchSharp-cpu,", code[0].Source);
        Assert.Equal(Parameters.Tag, Assert.Single(code[1].Tags));
        Assert.Contains(Parameters.Declared(code[1].Source), p => p.Name == "quick" && p.TypeName == "bool");
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public async Task RunsInQuickModeWithoutErrors(string notebook)
    {
        var path = Path.Combine(RepoRoot(), "notebooks", notebook);

        var outDir = Path.Combine(Path.GetTempPath(), "wb-nb-tests", "all-" + Guid.NewGuid().ToString("N")[..8]);
        var run = await NotebookRunner.RunAsync(path, new RunOptions { Quick = true, OutputDirectory = outDir });
        Assert.True(run.Succeeded, run.Failure?.Message);
        var errors = run.AllOutputs.Where(o => (string?)o["output_type"] == "error").ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.ToJsonString())));
        TestNotebooks.AssertValid(NotebookDocument.Load(run.NotebookOutputPath!));
        Directory.Delete(outDir, recursive: true);
    }
}
