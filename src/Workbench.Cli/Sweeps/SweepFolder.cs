using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// A sweep's folder: <c>sweep.json</c> (the sweep file and its expansion: every point's name, grid values, seed and
/// train arguments), <c>task.sh</c> (runs one point: <see cref="TaskScript"/>), one ordinary run folder per point,
/// <c>slurm/</c> (batch script, job ids, Slurm's output) and, after <c>sweep report</c>, <c>report.csv</c>,
/// <c>summary.csv</c> and <c>report.html</c>.
/// </summary>
public static class SweepFolder
{
    public static string InfoPath(string dir) => Path.Combine(dir, "sweep.json");
    public static string TaskScriptPath(string dir) => Path.Combine(dir, "task.sh");
    public static string SlurmDir(string dir) => Path.Combine(dir, "slurm");
    public static string PointDir(string dir, SweepPoint p) => Path.Combine(dir, p.Name);

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Records the expansion in <c>sweep.json</c>, or, when the folder already holds a sweep, checks that it is the
    /// same one (same point names and train arguments), so that running a sweep again continues it and a different
    /// sweep cannot mix into its folder.
    /// </summary>
    public static void Record(string dir, string file, SweepFile sweep, IReadOnlyList<SweepPoint> points)
    {
        var info = new JsonObject
        {
            ["file"] = Path.GetFullPath(file),
            ["sweep"] = sweep.ToJson(),
            ["points"] = JsonSerializer.SerializeToNode(points, Options),
        };
        var path = InfoPath(dir);
        if (File.Exists(path))
        {
            var old = ReadPoints(dir);
            var differs = old.Count != points.Count ? $"{old.Count} points recorded, {points.Count} now"
                : old.Zip(points).Where(p => p.First.Name != p.Second.Name || !p.First.TrainArgs.SequenceEqual(p.Second.TrainArgs))
                    .Select(p => $"point {p.First.Index} was {p.First.Name} ({string.Join(" ", p.First.TrainArgs)})").FirstOrDefault();
            if (differs is not null)
                throw new UsageException($"{dir} holds a different sweep ({path}: {differs}); choose another --out.");
            return;
        }
        Directory.CreateDirectory(dir);
        File.WriteAllText(path + ".tmp", info.ToJsonString(Options));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The points recorded in <c>sweep.json</c>.</summary>
    public static IReadOnlyList<SweepPoint> ReadPoints(string dir)
    {
        var path = InfoPath(dir);
        if (!File.Exists(path))
            throw new UsageException($"{dir} is not a sweep folder: {path} is missing (sweeps are made by `workbench sweep run FILE --out {dir}`).");
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path))?["points"] ?? throw new InvalidDataException($"{path}: no points");
            return node.Deserialize<List<SweepPoint>>(Options) ?? throw new InvalidDataException($"{path}: no points");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {e.Message.ReplaceLineEndings(" ")}"); }
    }

    /// <summary>The sweep's name as recorded (the Slurm job name).</summary>
    public static string ReadName(string dir) =>
        JsonNode.Parse(File.ReadAllText(InfoPath(dir)))?["sweep"]?["name"]?.GetValue<string>() ?? Path.GetFileName(Path.GetFullPath(dir));
}
