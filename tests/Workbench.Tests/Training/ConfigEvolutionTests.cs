using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>Files written before a config field existed or moved: a field marked [AddedField] is read as the behaviour the
/// file was written with (and reported); a field that moved from the model record to the training record is read where
/// it now lives; any other missing field is refused by name.</summary>
public class ConfigEvolutionTests
{
    static readonly string[] MayDiffer = [nameof(StyleGan2TrainConfig.Steps), nameof(StyleGan2TrainConfig.LogEvery)];

    static RunConfig Small(StyleGan2TrainConfig? training = null) => new(StyleGan2Config.Small, training ?? StyleGan2TrainConfig.Small);

    /// <summary>
    /// A StyleGAN2 checkpoint as written before its training settings had their own record: one flat
    /// <c>StyleGan2Config</c> holding the networks' and the training's fields (without Steps and LogEvery, which came
    /// with the split), minus <paramref name="without"/>.
    /// </summary>
    static string OlderCheckpoint(StyleGan2TrainConfig training, params string[] without)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("wb-evolve").FullName, "old.safetensors");
        using (var module = nn.Linear(2, 2)) Checkpoint.SaveModule(path, module, StyleGan2Config.Small, step: 7);
        var (tensors, metadata) = Checkpoint.Load(path);
        var flat = JsonNode.Parse(metadata[Checkpoint.ConfigKey])!.AsObject();
        foreach (var (k, v) in JsonSerializer.SerializeToNode(training, Checkpoint.JsonOptions)!.AsObject())
            if (!MayDiffer.Contains(k)) flat[k] = v?.DeepClone();
        foreach (var f in without) Assert.True(flat.Remove(f), f);
        metadata[Checkpoint.ConfigKey] = flat.ToJsonString();
        Checkpoint.Save(path, tensors, metadata);
        return path;
    }

    [Fact]
    public void AnAddedFieldAbsentFromAnOlderCheckpointIsReadAsItsOlderBehaviour()
    {
        var path = OlderCheckpoint(StyleGan2TrainConfig.Small, nameof(StyleGan2TrainConfig.PathLengthDetachMean));
        Checkpoint.VerifyConfig(path, Small(StyleGan2TrainConfig.Small with { PathLengthDetachMean = true }), MayDiffer);
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.VerifyConfig(path, Small(), MayDiffer));
        Assert.Contains("Training.PathLengthDetachMean", e.Message);

        var filled = new List<string>();
        var run = ConfigEvolution.AsRunConfig(JsonNode.Parse(Checkpoint.ReadInfo(path).ConfigJson!), typeof(StyleGan2Config), typeof(StyleGan2TrainConfig));
        ConfigEvolution.Upgrade(run, typeof(RunConfig), filled, Small());
        Assert.Contains("StyleGan2TrainConfig.PathLengthDetachMean = true", Assert.Single(filled));
    }

    [Fact]
    public void TheTrainingFieldsOfAPreSplitCheckpointAreReadAsTheTrainingRecords()
    {
        var path = OlderCheckpoint(StyleGan2TrainConfig.Small with { R1Gamma = 0.5, BatchSize = 64 });
        Checkpoint.VerifyConfig(path, Small(StyleGan2TrainConfig.Small with { R1Gamma = 0.5, BatchSize = 64 }), MayDiffer);
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.VerifyConfig(path, Small(), MayDiffer));
        Assert.Contains("Training.R1Gamma: file 0.5, expected 0.1", e.Message);
        Assert.Contains("Training.BatchSize: file 64, expected 16", e.Message);
        Assert.DoesNotContain("Model.", e.Message);
        var (readModel, read) = Checkpoint.ReadInfo(path).RunConfig<StyleGan2Config, StyleGan2TrainConfig>();   // as notebook 02 reads it
        Assert.Equal((0.5, 64, StyleGan2Config.Small.ZDim), (read.R1Gamma, read.BatchSize, readModel.ZDim));

        // a run.json of that time: the training fields in "model", "training" empty
        var recorded = new JsonObject
        {
            ["model"] = JsonNode.Parse(Checkpoint.ReadInfo(path).ConfigJson!),
            ["training"] = new JsonObject { ["LearningRate"] = 0.001 },   // a field the training object holds wins
        };
        ((JsonObject)recorded["model"]!)["LearningRate"] = 0.002;
        var moved = ConfigEvolution.MoveTrainingFields(recorded, typeof(StyleGan2Config), typeof(StyleGan2TrainConfig));
        var training = moved["training"].Deserialize<StyleGan2TrainConfig>(Checkpoint.JsonOptions)!;
        Assert.Equal((0.5, 64, 0.001), (training.R1Gamma, training.BatchSize, training.LearningRate));
        var model = moved["model"]!.AsObject();
        Assert.DoesNotContain(model, kv => kv.Key is nameof(StyleGan2TrainConfig.R1Gamma) or nameof(StyleGan2TrainConfig.LearningRate));
        Assert.Equal(StyleGan2Config.Small.ZDim, model[nameof(StyleGan2Config.ZDim)]!.GetValue<int>());
        Assert.Equal(0.002, recorded["model"]!["LearningRate"]!.GetValue<double>());   // the input is not changed
    }

    [Fact]
    public void AnyOtherMissingFieldIsStillRefusedByName()
    {
        var path = OlderCheckpoint(StyleGan2TrainConfig.Small, nameof(StyleGan2TrainConfig.R1Gamma));
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.VerifyConfig(path, Small(), MayDiffer));
        Assert.Contains("R1Gamma: file (absent)", e.Message);
    }
}
