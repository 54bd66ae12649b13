using System.Text.Json;
using TorchSharp;
using Workbench.Data;
using Workbench.Training;

namespace Workbench.Zoo;

/// <summary>
/// A trained model of the zoo (<c>models/&lt;name&gt;/</c>): its card, inference weights, training log and sample grid,
/// checked against <c>models/zoo.json</c> when opened. A notebook builds the family's model from the card's config and
/// loads the weights into it:
/// <code>
/// var zoo = ZooModel.Open("glow-fashion-mnist-medium");
/// var glow = new Glow(zoo.ModelConfig&lt;GlowConfig&gt;(), 1, 28, 28);
/// zoo.LoadWeights(glow);
/// </code>
/// </summary>
public sealed class ZooModel
{
    public const string WeightsFile = "weights.safetensors", CardFile = "card.json", LogFile = "log.csv",
        SamplesFile = "samples.png", ReadmeFile = "README.md";

    /// <summary>Every file a zoo folder holds.</summary>
    public static readonly string[] Files = [WeightsFile, CardFile, LogFile, SamplesFile, ReadmeFile];

    ZooModel(string folder, ZooCard card) { Folder = folder; Card = card; }

    public string Folder { get; }
    public ZooCard Card { get; }
    public string Name => Card.Name;
    public string WeightsPath => Path.Combine(Folder, WeightsFile);
    public string LogPath => Path.Combine(Folder, LogFile);
    public string SamplesPath => Path.Combine(Folder, SamplesFile);

    /// <summary><c>models/</c> in the repository (found from the current folder or this assembly's), or null outside a checkout.</summary>
    public static string? DefaultZooFolder => DatasetResolver.FindRepositoryRoot() is { } root ? Path.Combine(root, "models") : null;

    /// <summary>True when <paramref name="folder"/> is a zoo model's folder (it has a card.json).</summary>
    public static bool IsZooFolder(string folder) => Directory.Exists(folder) && File.Exists(Path.Combine(folder, CardFile));

    /// <summary>
    /// Opens a zoo model by name (looked up in <paramref name="zooFolder"/>, default <see cref="DefaultZooFolder"/>) or by
    /// its folder's path. With <paramref name="verify"/>, every file must match its SHA-256 in the zoo.json of the folder
    /// above it. Unknown names, missing or damaged files are one-line errors naming them.
    /// </summary>
    public static ZooModel Open(string nameOrFolder, string? zooFolder = null, bool verify = true)
    {
        string folder;
        if (IsZooFolder(nameOrFolder)) folder = Path.GetFullPath(nameOrFolder);
        else
        {
            var zoo = zooFolder ?? DefaultZooFolder
                ?? throw new DirectoryNotFoundException($"zoo model '{nameOrFolder}': no models/ folder (not inside a workbench checkout); give the model's folder instead");
            folder = Path.Combine(zoo, nameOrFolder);
            if (!IsZooFolder(folder))
            {
                var known = ZooManifest.Read(zoo).Models.Select(m => m.Name).ToList();
                throw new DirectoryNotFoundException($"zoo model '{nameOrFolder}' not found in {zoo} " +
                    (known.Count == 0 ? "(the zoo is empty)" : $"(known: {string.Join(", ", known)})"));
            }
        }
        var card = ZooCard.Read(Path.Combine(folder, CardFile));
        var name = Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar));
        if (card.Name != name) throw new InvalidDataException($"{Path.Combine(folder, CardFile)}: names model '{card.Name}' but its folder is '{name}'");
        if (verify)
        {
            var zoo = Path.GetDirectoryName(folder.TrimEnd(Path.DirectorySeparatorChar))!;
            var entry = ZooManifest.Read(zoo).Find(name)
                ?? throw new InvalidDataException($"{ZooManifest.PathIn(zoo)} does not list '{name}' (add it with `workbench zoo add`)");
            var problems = ZooManifest.Problems(folder, entry);
            if (problems.Count > 0) throw new InvalidDataException(string.Join("; ", problems));
        }
        return new ZooModel(folder, card);
    }

    /// <summary>The card's model config as <typeparamref name="T"/>; a model of another family is an error naming both.</summary>
    public T ModelConfig<T>() => (T)ModelConfig(typeof(T));

    /// <summary>The card's model config as the record type it was trained with.</summary>
    public object ModelConfig() => ModelConfig(ConfigRecordType());

    object ModelConfig(Type type)
    {
        if (type.FullName != Card.ConfigType)
            throw new InvalidDataException($"{Name} is a {Card.Family} model ({ShortName(Card.ConfigType)}), not a {type.Name}");
        var node = Card.Run["config"]?["model"] ?? throw new InvalidDataException($"{Path.Combine(Folder, CardFile)}: run.config.model is missing");
        return ConfigEvolution.Upgrade(node, type, new List<string>())!.Deserialize(type, Checkpoint.JsonOptions)
               ?? throw new InvalidDataException($"{Path.Combine(Folder, CardFile)}: run.config.model is empty");
    }

    Type ConfigRecordType() => typeof(ZooModel).Assembly.GetType(Card.ConfigType)
        ?? throw new InvalidDataException($"{Path.Combine(Folder, CardFile)}: config type {Card.ConfigType} is not in this library");

    static string ShortName(string type) => type[(type.LastIndexOf('.') + 1)..];

    /// <summary>
    /// Loads the inference weights into <paramref name="module"/>, which must be built from <see cref="ModelConfig{T}"/>:
    /// the file's config, every tensor's name, shape and dtype are checked (a mismatch names the file and the keys).
    /// </summary>
    public CheckpointInfo LoadWeights(torch.nn.Module module) =>
        Checkpoint.LoadModule(WeightsPath, module, expectedConfig: ModelConfig());

    /// <summary>The whole training log (one row per logged step; <c>ToDataFrame()</c> for a DataFrame).</summary>
    public TrainingLog Log() => TrainingLog.LoadCsv(LogPath);

    /// <summary>Writes a zoo model's inference weights: one module as <c>model.*</c>, with its config record and step.</summary>
    public static void SaveWeights(string path, torch.nn.Module module, object modelConfig, long step) =>
        Checkpoint.SaveModule(path, module, modelConfig, step);
}
