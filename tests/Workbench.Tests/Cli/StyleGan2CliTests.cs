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
