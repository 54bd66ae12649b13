using System.Text.Json.Nodes;
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

    [Theory]
    [MemberData(nameof(Notebooks))]
    public async Task RunsInQuickModeWithoutErrors(string notebook)
    {
        var path = Path.Combine(RepoRoot(), "notebooks", notebook);
        var source = NotebookDocument.Load(path);
        Assert.All(source.Cells.Where(c => c.IsCode), c => Assert.Empty(c.Outputs)); // committed without outputs

        var outDir = Path.Combine(Path.GetTempPath(), "wb-nb-tests", "all-" + Guid.NewGuid().ToString("N")[..8]);
        var run = await NotebookRunner.RunAsync(path, new RunOptions { Quick = true, OutputDirectory = outDir });
        Assert.True(run.Succeeded, run.Failure?.Message);
        var errors = run.AllOutputs.Where(o => (string?)o["output_type"] == "error").ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.ToJsonString())));
        TestNotebooks.AssertValid(NotebookDocument.Load(run.NotebookOutputPath!));
    }
}
