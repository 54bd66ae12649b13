namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class CliErrorTests
{
    [Fact]
    public void ThreadsOptionSetsLibtorchThreadsAndRejectsZero()
    {
        int before = TorchSharp.torch.get_num_threads();
        try
        {
            var (code, output, _) = CliTestHost.Run("info", "--threads", "2");
            Assert.Equal(0, code);
            Assert.Contains("\"threads\":2", output);
            (code, output, _) = CliTestHost.Run("info", "--threads", "1");
            Assert.Contains("\"threads\":1", output);
            var (bad, _, err) = CliTestHost.Run("train", "glow", "--threads", "0");
            Assert.Equal(2, bad);
            Assert.Contains("--threads 0", err);
        }
        finally { TorchSharp.torch.set_num_threads(before); }
    }

    [Fact]
    public void DefaultThreadsFollowOmpNumThreadsElseHalfTheCores()
    {
        int before = TorchSharp.torch.get_num_threads();
        var omp = Environment.GetEnvironmentVariable("OMP_NUM_THREADS");
        try
        {
            Environment.SetEnvironmentVariable("OMP_NUM_THREADS", null);
            Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), Workbench.Training.Devices.ConfigureThreads());
            TorchSharp.torch.set_num_threads(3);
            Environment.SetEnvironmentVariable("OMP_NUM_THREADS", "3");
            Assert.Equal(3, Workbench.Training.Devices.ConfigureThreads(0)); // left as the variable set it
            Assert.Equal(2, Workbench.Training.Devices.ConfigureThreads(2));
            Assert.Throws<ArgumentOutOfRangeException>(() => Workbench.Training.Devices.ConfigureThreads(-1));
        }
        finally
        {
            Environment.SetEnvironmentVariable("OMP_NUM_THREADS", omp);
            TorchSharp.torch.set_num_threads(before);
        }
    }

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
