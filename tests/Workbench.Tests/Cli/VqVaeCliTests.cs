using System.Text.Json;

namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class VqVaeCliTests
{
    [Fact]
    public void VqVaeTrainsBothStagesResumesSamplesAndEvaluates()
    {
        var run = RunFixtures.NewRun("vqvae");
        var tiny = new[]
        {
            "--data", RunFixtures.Images, "--image-size", "8", "--out", run, "--batch", "8", "--sample-every", "0", "--eval-limit", "8",
            "--set", "Hidden=8", "--set", "ResidualHidden=4", "--set", "ResidualBlocks=1", "--set", "Codes=8", "--set", "CodeDim=4",
            "--set", "PriorFeatures=8", "--set", "PriorResidualBlocks=1", "--set", "PriorOutputFeatures=8", "--set", "PriorFirstKernel=3",
            "--set", "PriorFraction=0.5", "--set", "LogEvery=1",
        };
        var a = CliTestHost.Run(new[] { "train", "vqvae", "--steps", "2" }.Concat(tiny).ToArray());
        Assert.True(a.Code == 0, a.Err);
        using (var j = JsonDocument.Parse(a.Out.Trim().Split('\n')[^1]))
        {
            Assert.Equal("vqvae", j.RootElement.GetProperty("model").GetString());
            Assert.True(j.RootElement.GetProperty("test_mse").GetDouble() > 0);
            Assert.True(j.RootElement.TryGetProperty("test_bpd", out _), "one prior step was taken: the bound with the prior is reported");
        }
        // the split (1 autoencoder step of 2) is fixed when the run starts: the resumed steps 3 to 6 train the prior
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "6");
        Assert.True(b.Code == 0, b.Err);
        Assert.Contains("resuming", b.Err);
        var log = File.ReadAllLines(Path.Combine(run, "log.csv"));
        var header = log[0].Split(',');
        int step = Array.IndexOf(header, "step"), prior = Array.IndexOf(header, "prior_bits"), recon = Array.IndexOf(header, "recon_mse");
        Assert.True(step >= 0 && prior >= 0 && recon >= 0, log[0]);
        var rows = log.Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(new[] { "1" }, rows.Where(r => r[recon].Length > 0).Select(r => r[step]).ToArray());
        Assert.Equal(new[] { "2", "3", "4", "5", "6" }, rows.Where(r => r[prior].Length > 0).Select(r => r[step]).ToArray());
        var png = Path.Combine(run, "grid.png");
        var s = CliTestHost.Run("sample", run, "--n", "4", "--temperature", "0.9", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));
        var e = CliTestHost.Run("eval", run, "--eval-limit", "8");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("test_bpd_uniform", e.Out);
    }
}
