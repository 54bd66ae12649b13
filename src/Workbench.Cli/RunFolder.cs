using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Workbench.Cli;

/// <summary>A setting changed when a run was resumed: from which step the new value applies, and both values.</summary>
public sealed record RunChange(long Step, string Field, string From, string To);

/// <summary>
/// A training run's folder: <c>run.json</c> (model, data, batch, seed, steps, intervals, the resolved config and the
/// settings changed on resume), <c>checkpoints/last.safetensors</c>, <c>log.csv</c>, <c>samples/step-N.png</c>,
/// TensorBoard event files under <c>tensorboard/</c>, and while a process trains in it, <c>.lock</c> (see <see cref="RunLock"/>).
/// </summary>
/// <param name="ImageSize">the side images were resized to, when <see cref="Data"/> is an image folder.</param>
/// <param name="Commands">every <c>workbench train …</c> command line that trained in this folder, in order (start, then resumes).</param>
/// <param name="Commit">the project's git commit when the run started (null outside a checkout).</param>
/// <param name="Threads">libtorch intra-op threads the run started with.</param>
/// <param name="Machine">the processor and OS the run started on.</param>
public sealed record RunInfo(string Model, string Data, long[] Shape, int Batch, long Seed, long Steps, string Preset, JsonNode Config,
    long? EvalLimit = null, long? CheckpointEvery = null, long? SampleEvery = null, int? ImageSize = null, RunChange[]? Changes = null,
    string[]? Commands = null, string? Commit = null, int? Threads = null, string? Machine = null)
{
    /// <summary>Steps between checkpoints when a run does not say (0: only at the end and on interruption).</summary>
    public const long DefaultCheckpointEvery = 500;

    /// <summary>Steps between sample grids when a run does not say (0: only at the end).</summary>
    public const long DefaultSampleEvery = 500;

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
    /// <summary>
    /// The recorded configs as the family's record types. A field the record does not have (a config written for
    /// another family, a misspelt edit) is an error naming it, so no model is built from a half-read config.
    /// </summary>
    public Workbench.Training.RunConfig ConfigFor(Families.IModelFamily family, string source = "run.json")
    {
        var config = Config is JsonObject recorded
            ? Workbench.Training.ConfigEvolution.MoveTrainingFields(recorded, family.ModelConfigType, family.TrainingConfigType)
            : null;
        object Read(string key, Type type)
        {
            var node = config?[key] ?? throw new InvalidDataException($"{source}: config.{key} is missing");
            try
            {
                var filled = new List<string>();
                var upgraded = Workbench.Training.ConfigEvolution.Upgrade(node, type, filled);
                foreach (var f in filled) Console.Error.WriteLine($"warning: {source}: config.{key}: {f}");
                return upgraded!.Deserialize(type, Strict) ?? throw new InvalidDataException($"{source}: config.{key} is empty");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}: config.{key} is not a {type.Name} for model '{Model}': {e.Message}");
            }
        }
        return new Workbench.Training.RunConfig(Read("model", family.ModelConfigType), Read("training", family.TrainingConfigType));
    }

    static readonly JsonSerializerOptions Strict = new(Workbench.Training.Checkpoint.JsonOptions)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
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

    /// <summary>Reads run.json; a missing, truncated or incomplete one is an error naming the file and what is wrong.</summary>
    public static RunInfo ReadInfo(string run)
    {
        var path = InfoPath(run);
        if (File.Exists(run))
            throw new UsageException($"{run} is a file, not a run folder.");
        if (!File.Exists(path))
            throw new UsageException($"{run} is not a run folder: {path} is missing (runs are made by `workbench train … --out {run}`).");
        RunInfo? info;
        try { info = JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(path), RunInfo.JsonOptions); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid run.json ({e.Message.Split('\n')[0]})");
        }
        if (info is null) throw new InvalidDataException($"{path}: empty");
        var missing = new[] { ("model", (object?)info.Model), ("data", info.Data), ("shape", info.Shape), ("config", info.Config), ("preset", info.Preset) }
            .Where(f => f.Item2 is null).Select(f => f.Item1).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: not a valid run.json ({string.Join(", ", missing)} missing)");
        if (info.Shape.Length != 3 || info.Shape.Any(d => d < 1) || info.Batch < 1 || info.Steps < 0)
            throw new InvalidDataException($"{path}: not a valid run.json (shape [{string.Join(", ", info.Shape)}], batch {info.Batch}, steps {info.Steps})");
        return info;
    }

    /// <summary>Deletes what killed writes leave behind: <c>*.tmp-*</c> checkpoint parts and <c>*.tmp</c> files (call under the run's lock).</summary>
    public static IReadOnlyList<string> RemoveOrphanTemporaries(string run)
    {
        var removed = new List<string>();
        var candidates = (Directory.Exists(CheckpointDir(run)) ? Directory.EnumerateFiles(CheckpointDir(run), "*.tmp-*") : [])
            .Concat(Directory.EnumerateFiles(run, "*.tmp"));
        foreach (var f in candidates.ToList())
        {
            File.Delete(f);
            removed.Add(f);
        }
        return removed;
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
