using System.Text.Json;
using Workbench.Training;

namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class GanCliTests
{
    static readonly string[] Tiny = { "--set", "Width=4", "--set", "ZDim=8", "--batch", "4", "--sample-every", "0" };

    [SkippableFact]
    public void DcganTrainsResumesExactlySamplesAndEvaluatesOnFashionMnist()
    {
        RequiredData.RequireFashionMnist();
        var root = Directory.CreateTempSubdirectory("wb-dcgan").FullName;
        string straight = Path.Combine(root, "straight"), resumed = Path.Combine(root, "resumed");
        var a = CliTestHost.Run(new[] { "train", "dcgan", "--steps", "4", "--out", straight, "--set", "Classes=10", "--set", "Projection=true" }.Concat(Tiny).ToArray());
        Assert.True(a.Code == 0, a.Err);
        using (var j = JsonDocument.Parse(a.Out.Trim().Split('\n')[^1]))
            Assert.Equal("dcgan", j.RootElement.GetProperty("model").GetString());
        var b1 = CliTestHost.Run(new[] { "train", "dcgan", "--steps", "2", "--out", resumed, "--set", "Classes=10", "--set", "Projection=true" }.Concat(Tiny).ToArray());
        Assert.True(b1.Code == 0, b1.Err);
        var b2 = CliTestHost.Run("train", "--resume", resumed, "--steps", "4");
        Assert.True(b2.Code == 0, b2.Err);
        Assert.Contains("resuming", b2.Err);
        var (ta, _) = Checkpoint.Load(Path.Combine(straight, "checkpoints", "last.safetensors"));
        var (tb, _) = Checkpoint.Load(Path.Combine(resumed, "checkpoints", "last.safetensors"));
        var weights = ta.Keys.Where(k => k.StartsWith("G.") || k.StartsWith("D.")).ToList();
        Assert.NotEmpty(weights);
        foreach (var k in weights) Assert.True((ta[k] == tb[k]).all().item<bool>(), $"{k} differs after resuming");

        var png = Path.Combine(root, "grid.png");
        var s = CliTestHost.Run("sample", resumed, "--n", "10", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));
        var bad = CliTestHost.Run("sample", resumed, "--n", "4", "--psi", "0.5", "--out", png);
        Assert.Equal(2, bad.Code);
        Assert.Contains("dcgan", bad.Err);
        var e = CliTestHost.Run("eval", resumed, "--quality", "0");
        Assert.True(e.Code == 0, e.Err);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void WganGpWithSpectralNormAndAttentionTrainsOnFaces()
    {
        var root = Directory.CreateTempSubdirectory("wb-wgan-gp").FullName;
        var run = Path.Combine(root, "run");
        var a = CliTestHost.Run(new[] { "train", "wgan-gp", "--data", "faces32", "--steps", "2", "--out", run,
            "--set", "SpectralNorm=true", "--set", "Attention=8", "--set", "NCritic=2" }.Concat(Tiny).ToArray());
        Assert.True(a.Code == 0, a.Err);
        var log = File.ReadAllText(Path.Combine(run, "log.csv"));
        foreach (var column in new[] { "wasserstein", "gp", "loss_g" }) Assert.Contains(column, log);
        var runJson = File.ReadAllText(Path.Combine(run, "run.json"));
        Assert.Contains("\"Loss\": \"Wasserstein\"", runJson);
        // batch norm in a penalised critic is refused by name
        var bad = CliTestHost.Run(new[] { "train", "wgan-gp", "--data", "faces32", "--steps", "1", "--out", Path.Combine(root, "bn"),
            "--set", "DiscriminatorBatchNorm=true" }.Concat(Tiny).ToArray());
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("DiscriminatorBatchNorm", bad.Err);
        Assert.DoesNotContain("   at ", bad.Err);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void GanToyPrintsTheModeReportAsOneJsonLine()
    {
        var r = CliTestHost.Run("gan-toy", "--variant", "sn-gan", "--toy", "grid25", "--steps", "3", "--every", "2", "--seed", "1");
        Assert.True(r.Code == 0, r.Err);
        using var j = JsonDocument.Parse(r.Out.Trim().Split('\n')[^1]);
        Assert.Equal("grid25", j.RootElement.GetProperty("toy").GetString());
        Assert.Equal(25, j.RootElement.GetProperty("of").GetInt32());
        Assert.InRange(j.RootElement.GetProperty("high_quality").GetDouble(), 0, 1);
        Assert.Contains("step      2", r.Err);
        var bad = CliTestHost.Run("gan-toy", "--variant", "unrolled");
        Assert.Equal(2, bad.Code);
        Assert.Contains("wgan-gp", bad.Err);
    }
}
