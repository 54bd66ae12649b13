using System.CommandLine;
using Workbench.Cli;
using Workbench.Notebooks;
using static Workbench.Tests.Notebooks.TestNotebooks;

namespace Workbench.Tests.Notebooks;

[Collection(nameof(NotebookKernel))]
public class NotebookCommandTests
{
    static int Invoke(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(NotebookCommand.Create());
        return root.Parse(args).Invoke();
    }

    [Fact]
    public void RunWritesTheExecutedNotebookAndReportAndExitsZero()
    {
        var path = Write("cli", Code("var quick = false;", "p", Parameters.Tag), Code("quick ? \"small\" : \"full\"", "r"));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        Assert.Equal(0, Invoke("notebook", "run", path, "--quick", "--output", outDir, "--html"));
        var executed = Load(Path.Combine(outDir, "cli.ipynb"));
        Assert.Contains("small", Text(Cells(executed)[2]["outputs"]![0]!["data"]!["text/plain"]));
        Assert.True(File.Exists(Path.Combine(outDir, "cli.html")));
    }

    [Fact]
    public void BadParametersExitNonZeroWithoutRunning()
    {
        var path = Write("cli-bad", Code("var quick = false;", "p", Parameters.Tag));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        Assert.Equal(2, Invoke("notebook", "run", path, "--param", "nonsense", "-o", outDir));
        Assert.Equal(1, Invoke("notebook", "run", path, "--param", "steps=3", "-o", outDir));
        Assert.False(Directory.Exists(outDir));
    }
}
