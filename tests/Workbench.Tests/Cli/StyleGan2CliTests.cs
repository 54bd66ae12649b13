using Workbench.Training;

namespace Workbench.Tests.Cli;

[Collection(CliCollection.Name)]
public class StyleGan2CliTests
{
    static readonly string[] Tiny =
    {
        "--set", "ChannelMax=8", "--set", "MappingLayers=2", "--set", "WDim=8", "--set", "ZDim=8",
        "--batch", "4", "--sample-every", "0",
    };

    /// <summary>A GAN has no held-out metric: its zoo card records a check of 0 examples (which the shipped-zoo test
    /// skips) and says so, and the packaged G_ema verifies and samples.</summary>
    [Fact]
    public void ZooCardOfAGanHasNoCheckMetric()
    {
        var root = Directory.CreateTempSubdirectory("wb-sg2-zoo").FullName;
        var run = Path.Combine(root, "run");
        var a = CliTestHost.Run(new[] { "train", "stylegan2", "--steps", "2", "--out", run }.Concat(Tiny).ToArray());
        Assert.True(a.Code == 0, a.Err);
        var metrics = Path.Combine(root, "eval.json");
        var e = CliTestHost.Run("eval", run, "--quality", "0");
        Assert.True(e.Code == 0, e.Err);
        File.WriteAllText(metrics, e.Out);
        var zoo = Path.Combine(root, "models");
        var add = CliTestHost.Run("zoo", "add", run, "--name", "stylegan2-faces32-tiny", "--zoo", zoo, "--metrics", metrics,
            "--eval-command", "workbench eval run --quality 0", "--limitation", "Two steps.");
        Assert.True(add.Code == 0, add.Err);
        var card = Workbench.Zoo.ZooCard.Read(Path.Combine(zoo, "stylegan2-faces32-tiny", "card.json"));
        Assert.Equal(0, card.Check["examples"]!.GetValue<long>());
        Assert.Contains("Check: none", File.ReadAllText(Path.Combine(zoo, "stylegan2-faces32-tiny", "README.md")));
        var v = CliTestHost.Run("zoo", "verify", "--zoo", zoo);
        Assert.True(v.Code == 0, v.Err + v.Out);
        var s = CliTestHost.Run("sample", Path.Combine(zoo, "stylegan2-faces32-tiny"), "--n", "4", "--out", Path.Combine(root, "g.png"));
        Assert.True(s.Code == 0, s.Err);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void AResumedRunEndsWithTheSameWeightsAsAStraightOne()
    {
        var root = Directory.CreateTempSubdirectory("wb-sg2").FullName;
        string straight = Path.Combine(root, "straight"), resumed = Path.Combine(root, "resumed");
        var a = CliTestHost.Run(new[] { "train", "stylegan2", "--steps", "4", "--checkpoint-every", "2", "--out", straight }.Concat(Tiny).ToArray());
        Assert.True(a.Code == 0, a.Err);
        var b1 = CliTestHost.Run(new[] { "train", "stylegan2", "--steps", "2", "--out", resumed }.Concat(Tiny).ToArray());
        Assert.True(b1.Code == 0, b1.Err);
        var b2 = CliTestHost.Run("train", "--resume", resumed, "--steps", "4");
        Assert.True(b2.Code == 0, b2.Err);

        var (ta, _) = Checkpoint.Load(Path.Combine(straight, "checkpoints", "last.safetensors"));
        var (tb, _) = Checkpoint.Load(Path.Combine(resumed, "checkpoints", "last.safetensors"));
        var weights = ta.Keys.Where(k => k.StartsWith("G.") || k.StartsWith("D.") || k.StartsWith("G_ema.")).ToList();
        Assert.NotEmpty(weights);
        foreach (var k in weights) Assert.True((ta[k] == tb[k]).all().item<bool>(), $"{k} differs after resuming");

        var png = Path.Combine(root, "grid.png");
        var s = CliTestHost.Run("sample", resumed, "--n", "4", "--psi", "0.5", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));
    }
}
