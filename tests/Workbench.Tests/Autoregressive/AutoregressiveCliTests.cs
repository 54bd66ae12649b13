using System.Text.Json;
using Workbench.Tests.Cli;

namespace Workbench.Tests.Autoregressive;

/// <summary>`workbench train|sample|eval` of the three pixel models on the no-download image folder (8×8 RGB), tiny.</summary>
[Collection(CliCollection.Name)]
public class AutoregressiveCliTests
{
    static string[] Tiny(string family, string run) => new[]
    {
        "--data", RunFixtures.Images, "--image-size", "8", "--out", run, "--batch", "8", "--sample-every", "0", "--eval-limit", "8",
    }.Concat(family switch
    {
        "pixelcnn" => new[] { "--set", "Features=8", "--set", "ResidualBlocks=1", "--set", "OutputFeatures=8" },
        "gated-pixelcnn" => new[] { "--set", "Features=8", "--set", "Layers=2", "--set", "OutputFeatures=8" },
        "maf" => new[] { "--set", "Hidden=16", "--set", "Mades=2" },
        _ => new[] { "--set", "Features=8", "--set", "Mixtures=2" },
    }).ToArray();

    [Theory]
    [InlineData("pixelcnn")]
    [InlineData("gated-pixelcnn")]
    [InlineData("pixelcnn++")]
    [InlineData("maf")]
    public void TrainsResumesSamplesAndEvaluatesByExactLikelihood(string family)
    {
        var run = RunFixtures.NewRun(family.Replace("+", "p"));
        var a = CliTestHost.Run(new[] { "train", family, "--steps", "3" }.Concat(Tiny(family, run)).ToArray());
        Assert.True(a.Code == 0, a.Err);
        using (var j = JsonDocument.Parse(a.Out.Trim().Split('\n')[^1]))
        {
            Assert.Equal(family, j.RootElement.GetProperty("model").GetString());
            Assert.InRange(j.RootElement.GetProperty("test_bpd").GetDouble(), 4, 12);   // near the uniform model's 8 bits/dim
        }
        Assert.Equal(new long[] { 1, 2, 3 }, RunFixtures.TrainRows(run));
        Assert.True(File.Exists(Path.Combine(run, "samples", "step-000003.png")), "no sample grid at the end of the run");

        // a resume may change the learning rate, not the network's width
        var width = family == "maf" ? "Hidden" : "Features";
        var refused = CliTestHost.Run("train", "--resume", run, "--steps", "4", "--set", $"{width}=32");
        RunFixtures.AssertOneLineError(refused.Code, refused.Err, width);
        var b = CliTestHost.Run("train", "--resume", run, "--steps", "4", "--set", "LearningRate=0.0005");
        Assert.True(b.Code == 0, b.Err);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, RunFixtures.TrainRows(run));

        var png = Path.Combine(run, "grid.png");
        var s = CliTestHost.Run("sample", run, "--n", "2", "--out", png);
        Assert.True(s.Code == 0, s.Err);
        var again = Path.Combine(run, "again.png");
        Assert.Equal(0, CliTestHost.Run("sample", run, "--n", "2", "--out", again).Code);
        Assert.Equal(File.ReadAllBytes(png), File.ReadAllBytes(again));   // the same seed draws the same pixels

        var e = CliTestHost.Run("eval", run, "--eval-limit", "8");
        Assert.True(e.Code == 0, e.Err);
        using (var j = JsonDocument.Parse(e.Out.Trim().Split('\n')[^1]))
            Assert.InRange(j.RootElement.GetProperty("test_bpd").GetDouble(), 4, 12);
    }

    [Fact]
    public void PixelCnnPlusPlusRefusesImagesWhoseSideItsScalesCannotHalve()
    {
        var run = RunFixtures.NewRun("pixelcnnpp-odd");
        var r = CliTestHost.Run(new[] { "train", "pixelcnn++", "--steps", "1", "--image-size", "6", "--data", RunFixtures.Images, "--out", run });
        RunFixtures.AssertOneLineError(r.Code, r.Err, "Scales=3 needs sides that are multiples of 4");
    }
}
