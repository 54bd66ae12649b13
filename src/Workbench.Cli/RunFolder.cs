using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Workbench.Cli;

/// <summary>
/// A training run's folder: <c>run.json</c> (model, data, batch, seed, steps and the resolved config),
/// <c>checkpoints/last.safetensors</c> (and <c>step-N.safetensors</c>), <c>log.csv</c>, <c>samples/step-N.png</c> and
/// TensorBoard event files under <c>tensorboard/</c>.
/// </summary>
public sealed record RunInfo(string Model, string Data, long[] Shape, int Batch, long Seed, long Steps, string Preset, JsonNode Config, long? EvalLimit = null)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>The configs as JSON (<c>{"model": …, "training": …}</c>), in the form the library's checkpoints use.</summary>
    public static JsonNode ConfigJson(Workbench.Training.RunConfig config) => new JsonObject
    {
        ["model"] = JsonSerializer.SerializeToNode(config.Model, config.Model.GetType(), Workbench.Training.Checkpoint.JsonOptions),
        ["training"] = JsonSerializer.SerializeToNode(config.Training, config.Training.GetType(), Workbench.Training.Checkpoint.JsonOptions),
    };

    /// <summary>The recorded configs as the family's record types.</summary>
    public Workbench.Training.RunConfig ConfigFor(Families.IModelFamily family)
    {
        object Read(string key, Type type) =>
            (Config[key] ?? throw new InvalidDataException($"run.json: config.{key} is missing"))
            .Deserialize(type, Workbench.Training.Checkpoint.JsonOptions)
            ?? throw new InvalidDataException($"run.json: config.{key} is empty");
        return new Workbench.Training.RunConfig(Read("model", family.ModelConfigType), Read("training", family.TrainingConfigType));
    }
}

public static class RunFolder
{
    public static string InfoPath(string run) => Path.Combine(run, "run.json");
    public static string CheckpointDir(string run) => Path.Combine(run, "checkpoints");
    public static string LastCheckpoint(string run) => Path.Combine(CheckpointDir(run), "last.safetensors");
    public static string LogPath(string run) => Path.Combine(run, "log.csv");
    public static string SamplesDir(string run) => Path.Combine(run, "samples");
    public static string TensorBoardDir(string run) => Path.Combine(run, "tensorboard");

    public static void WriteInfo(string run, RunInfo info)
    {
        Directory.CreateDirectory(run);
        var tmp = InfoPath(run) + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(info, RunInfo.JsonOptions));
        File.Move(tmp, InfoPath(run), overwrite: true);
    }

    public static RunInfo ReadInfo(string run)
    {
        var path = InfoPath(run);
        if (!File.Exists(path))
            throw new UsageException($"{run} is not a run folder: {path} is missing (runs are made by `workbench train … --out {run}`).");
        return JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(path), RunInfo.JsonOptions)
               ?? throw new InvalidDataException($"{path}: empty");
    }

    /// <summary>A checkpoint argument: a run folder (its last checkpoint) or a .safetensors file inside a run.</summary>
    public static (string Run, string Checkpoint) Resolve(string runOrCheckpoint)
    {
        if (Directory.Exists(runOrCheckpoint))
        {
            var ck = LastCheckpoint(runOrCheckpoint);
            if (!File.Exists(ck)) throw new UsageException($"{runOrCheckpoint} has no checkpoint yet ({ck} is missing).");
            return (runOrCheckpoint, ck);
        }
        if (File.Exists(runOrCheckpoint))
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(runOrCheckpoint))!;
            var run = Path.GetFileName(dir) == "checkpoints" ? Path.GetDirectoryName(dir)! : dir;
            return (run, runOrCheckpoint);
        }
        throw new UsageException($"{runOrCheckpoint}: no such run folder or checkpoint file.");
    }
}
