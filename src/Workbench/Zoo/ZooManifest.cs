using System.Security.Cryptography;
using System.Text.Json;

namespace Workbench.Zoo;

/// <summary>One model of <c>models/zoo.json</c>: its folder name, family and the SHA-256 of every file in its folder.</summary>
public sealed record ZooEntry(string Name, string Family, SortedDictionary<string, string> Files);

/// <summary>
/// <c>models/zoo.json</c>: every zoo model with the SHA-256 (lower-case hex) of each file in its folder, so a changed,
/// truncated or missing file is found before anything is loaded from it.
/// </summary>
public sealed record ZooManifest(ZooEntry[] Models)
{
    public const string FileName = "zoo.json";

    public static string PathIn(string zooFolder) => Path.Combine(zooFolder, FileName);

    /// <summary>Reads <c>zoo.json</c> in <paramref name="zooFolder"/>; an absent file is an empty zoo.</summary>
    public static ZooManifest Read(string zooFolder)
    {
        var path = PathIn(zooFolder);
        if (!File.Exists(path)) return new([]);
        try
        {
            return JsonSerializer.Deserialize<ZooManifest>(File.ReadAllText(path), ZooCard.JsonOptions)
                   ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid zoo manifest ({e.Message.Split('\n')[0]})"); }
    }

    /// <summary>Writes the manifest (models sorted by name) atomically.</summary>
    public void Write(string zooFolder)
    {
        Directory.CreateDirectory(zooFolder);
        var path = PathIn(zooFolder);
        var sorted = this with { Models = Models.OrderBy(m => m.Name, StringComparer.Ordinal).ToArray() };
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(sorted, ZooCard.JsonOptions) + "\n");
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The manifest with <paramref name="entry"/> added, or replacing the entry of the same name.</summary>
    public ZooManifest With(ZooEntry entry) => new(Models.Where(m => m.Name != entry.Name).Append(entry).ToArray());

    public ZooEntry? Find(string name) => Models.FirstOrDefault(m => m.Name == name);

    /// <summary>SHA-256 of every file directly in a model's folder, by file name.</summary>
    public static SortedDictionary<string, string> HashFiles(string modelFolder) =>
        new(Directory.EnumerateFiles(modelFolder).ToDictionary(f => Path.GetFileName(f), Sha256), StringComparer.Ordinal);

    public static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
    }

    /// <summary>
    /// What is wrong with a model's files against its entry: a listed file that is missing or whose SHA-256 differs,
    /// a file in the folder the entry does not list. Empty when every file matches.
    /// </summary>
    public static IReadOnlyList<string> Problems(string modelFolder, ZooEntry entry)
    {
        var problems = new List<string>();
        foreach (var (file, sha) in entry.Files)
        {
            var path = Path.Combine(modelFolder, file);
            if (!File.Exists(path)) problems.Add($"{path} is missing");
            else if (Sha256(path) != sha) problems.Add($"{path} does not match its SHA-256 in {FileName} (changed or damaged)");
        }
        if (Directory.Exists(modelFolder))
            foreach (var path in Directory.EnumerateFiles(modelFolder).Order(StringComparer.Ordinal))
                if (!entry.Files.ContainsKey(Path.GetFileName(path))) problems.Add($"{path} is not listed in {FileName}");
        return problems;
    }
}
