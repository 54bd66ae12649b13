namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class CliErrorTests
{
    [Fact]
    public void UnknownModelIsExitCode2WithTheChoicesAndNoStackTrace()
    {
        var (code, _, err) = CliTestHost.Run("train", "no-such-model", "--steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("unknown model 'no-such-model'", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void ResumeOfAFolderThatIsNotARunSaysWhatIsMissing()
    {
        var dir = Directory.CreateTempSubdirectory("wb-cli").FullName;
        var (code, _, err) = CliTestHost.Run("train", "--resume", dir);
        Assert.Equal(2, code);
        Assert.Contains("run.json", err);
    }

    [Fact]
    public void SampleOfAMissingRunIsAClearError()
    {
        var (code, _, err) = CliTestHost.Run("sample", "/nonexistent/run", "--n", "4");
        Assert.Equal(2, code);
        Assert.Contains("no such run folder or checkpoint", err);
    }

    [Fact]
    public void VerboseAddsTheStackTrace()
    {
        var (code, _, err) = CliTestHost.Run("train", "no-such-model", "--verbose");
        Assert.Equal(2, code);
        Assert.Contains("   at ", err);
    }
}
