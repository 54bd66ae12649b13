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
    public void AFolderAMissingFileOrABadTimeoutIsBadInput()
    {
        var path = Write("cli-input", Code("1"));
        var folder = Path.GetDirectoryName(path)!;
        var err = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(2, Invoke("notebook", "run", folder));
            Assert.Equal(2, Invoke("notebook", "run", Path.Combine(folder, "missing.ipynb")));
            Assert.Equal(2, Invoke("notebook", "run", path, "--timeout", "0"));
        }
        finally { Console.SetError(err); }
        var lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"error: {folder}: is a folder; name the notebooks in it (e.g. notebooks/*.ipynb)", lines[0].TrimEnd());
        Assert.Equal($"error: {Path.Combine(folder, "missing.ipynb")}: no such file", lines[1].TrimEnd());
        Assert.Contains("--timeout 0: must be a positive number of seconds", lines[2]);
    }

    /// <summary>SIGTERM stops the running cell; the real executable writes the partial notebook, names the cell and exits
    /// 130 (interrupted, as train and sweep).</summary>
    [Fact]
    public void SigtermWritesThePartialNotebookAndNamesTheCell()
    {
        var path = Write("cli-term", Code("Console.WriteLine(\"ran\");", "first"),
            Code("var until = DateTime.UtcNow.AddSeconds(60);\nwhile (DateTime.UtcNow < until) System.Threading.Thread.Sleep(20);", "loop"));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"), "notebook", "run", path, "-o", outDir })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = new System.Text.StringBuilder();
        var firstCellDone = new ManualResetEventSlim();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (err) err.AppendLine(e.Data);
            if (e.Data.Contains("cell 1/2 ok")) firstCellDone.Set();
        };
        p.BeginErrorReadLine();
        _ = p.StandardOutput.ReadToEndAsync();
        Assert.True(firstCellDone.Wait(TimeSpan.FromSeconds(90)), "the first cell never finished:\n" + err);
        Thread.Sleep(500);
        Assert.Equal(0, Kill(p.Id, 15));
        Assert.True(p.WaitForExit(30_000), "the runner did not stop within 30 s of SIGTERM");
        Assert.Equal(130, p.ExitCode);
        p.WaitForExit();
        Assert.Contains("cli-term.ipynb: cell 2 (id loop): interrupted before it finished", err.ToString());
        var cells = Cells(Load(Path.Combine(outDir, "cli-term.ipynb")));
        Assert.Equal("ran\n", Text(cells[0]["outputs"]![0]!["text"]));
        Assert.Equal("error", (string?)cells[1]["outputs"]![0]!["output_type"]);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    [Fact]
    public void BadParametersExitTwoWithoutRunning()
    {
        var path = Write("cli-bad", Code("var quick = false;", "p", Parameters.Tag));
        var outDir = Path.Combine(Path.GetDirectoryName(path)!, "out");
        Assert.Equal(2, Invoke("notebook", "run", path, "--param", "nonsense", "-o", outDir));
        Assert.Equal(2, Invoke("notebook", "run", path, "--param", "steps=3", "-o", outDir));   // not declared
        var noParameters = Write("cli-bad-none", Code("var quick = false;", "p"));
        Assert.Equal(2, Invoke("notebook", "run", noParameters, "--quick", "-o", outDir));   // no parameters cell
        Assert.False(Directory.Exists(outDir));
    }
}
