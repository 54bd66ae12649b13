using System.Text.Json.Nodes;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>Files written before a config field existed: a field marked [AddedField] is read as the behaviour the file
/// was written with (and reported); any other missing field is refused by name.</summary>
public class ConfigEvolutionTests
{
    /// <summary>A checkpoint whose stored StyleGan2Config lacks the given fields, as an older version wrote it.</summary>
    static string OlderCheckpoint(params string[] without)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("wb-evolve").FullName, "old.safetensors");
        using (var module = nn.Linear(2, 2)) Checkpoint.SaveModule(path, module, StyleGan2Config.Small, step: 7);
        var (tensors, metadata) = Checkpoint.Load(path);
        var config = JsonNode.Parse(metadata[Checkpoint.ConfigKey])!.AsObject();
        foreach (var f in without) Assert.True(config.Remove(f), f);
        metadata[Checkpoint.ConfigKey] = config.ToJsonString();
        Checkpoint.Save(path, tensors, metadata);
        return path;
    }

    [Fact]
    public void AnAddedFieldAbsentFromAnOlderCheckpointIsReadAsItsOlderBehaviour()
    {
        var path = OlderCheckpoint(nameof(StyleGan2Config.PathLengthDetachMean));
        Assert.True(Checkpoint.ReadInfo(path).Config<StyleGan2Config>().PathLengthDetachMean);
        Checkpoint.VerifyConfig(path, StyleGan2Config.Small with { PathLengthDetachMean = true });
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.VerifyConfig(path, StyleGan2Config.Small));
        Assert.Contains("PathLengthDetachMean", e.Message);

        var filled = new List<string>();
        var json = JsonNode.Parse(Checkpoint.ReadInfo(path).ConfigJson!);
        var run = new JsonObject { ["Model"] = json, ["Training"] = new JsonObject() };
        ConfigEvolution.Upgrade(run, typeof(RunConfig), filled, new RunConfig(StyleGan2Config.Small, new Workbench.Cli.Families.NoTrainingSettings()));
        Assert.Contains("StyleGan2Config.PathLengthDetachMean = true", Assert.Single(filled));
    }

    [Fact]
    public void AnyOtherMissingFieldIsStillRefusedByName()
    {
        var path = OlderCheckpoint(nameof(StyleGan2Config.R1Gamma));
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.VerifyConfig(path, StyleGan2Config.Small));
        Assert.Contains("R1Gamma: file (absent)", e.Message);
    }
}
