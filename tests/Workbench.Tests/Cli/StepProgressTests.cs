using Workbench.Cli;

namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class StepProgressTests
{
    [Fact]
    public void WithoutATerminalAProgressLineIsPrintedAboutEveryFiftiethOfTheRun()
    {
        // under the test host stderr is redirected, as in CI or `workbench train … 2> log`
        Assert.False(CliOutput.Interactive);
        var saved = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try
        {
            StepProgress.Run("glow run", total: 200, start: 0, report =>
            {
                for (long step = 1; step <= 200; step++) report(step, new Dictionary<string, double> { ["loss"] = 1.0 / step });
            });
        }
        finally { Console.SetError(saved); }
        var lines = err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("glow run 1/200", lines[0]);
        Assert.Contains("loss=", lines[0]);
        Assert.StartsWith("glow run 200/200", lines[^1]);
        Assert.InRange(lines.Length, 50, 52);   // every 4 steps, plus the last
    }
}
