using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// A sweep file (JSON, snake_case keys): the family and dataset, base settings (any <c>--set</c> key under
/// <c>set</c>, plus steps, batch, eval limit, checkpoint and sample intervals), grid axes (<c>--set</c> keys, each
/// with a list of values) and seeds. <see cref="SweepExpansion"/> turns it into one <c>workbench train</c> run per
/// grid point and seed. Example (see README.md, "Sweeps"):
/// <code>
/// { "family": "glow", "data": "fashion-mnist", "steps": 1000, "eval_limit": 2000,
///   "set": { "WarmupSteps": 100 },
///   "grid": { "Permutation": ["Reverse", "Shuffle", "Conv1x1"], "Coupling": ["Additive", "Affine"] },
///   "seeds": [0, 1, 2] }
/// </code>
/// </summary>
public sealed record SweepFile
{
    /// <summary>A name for the sweep (the Slurm job name; default: the file name without extension).</summary>
    public string? Name { get; init; }
    /// <summary>Free text: what the sweep is for (JSON has no comments).</summary>
    public string? Description { get; init; }
    /// <summary>Model family, as for <c>workbench train</c> (glow, realnvp, nice, nvae, vae, stylegan2).</summary>
    public required string Family { get; init; }
    /// <summary>Dataset name or folder (default: the family's).</summary>
    public string? Data { get; init; }
    /// <summary>Config preset: small or paper.</summary>
    public string Preset { get; init; } = "small";
    public long Steps { get; init; } = 3000;
    public int Batch { get; init; } = 64;
    /// <summary>Held-out examples evaluated at the end (null: the full test split).</summary>
    public long? EvalLimit { get; init; }
    public long? CheckpointEvery { get; init; }
    public long? SampleEvery { get; init; }
    /// <summary>Base <c>--set</c> assignments shared by every point (values: strings, numbers, booleans, or arrays
    /// for list settings).</summary>
    public JsonObject Set { get; init; } = new();
    /// <summary>Grid axes in order: <c>--set</c> key → list of values, or a label → list of objects of
    /// <c>--set</c> assignments (<c>{}</c> = the base settings). Points are the Cartesian product.</summary>
    public JsonObject Grid { get; init; } = new();
    /// <summary>Seeds (<c>train --seed</c>): every grid point runs once per seed.</summary>
    public long[] Seeds { get; init; } = [0];

    static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    /// <summary>Reads a sweep file; a missing file or malformed content is one-line error naming the file.</summary>
    public static SweepFile Load(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"sweep file {path} does not exist.");
        SweepFile? file;
        try { file = JsonSerializer.Deserialize<SweepFile>(File.ReadAllText(path), Options); }
        catch (JsonException e) { throw new UsageException($"{path}: {OneLine(e.Message)}"); }
        if (file is null) throw new UsageException($"{path}: empty sweep file.");
        return file with { Name = file.Name ?? Path.GetFileNameWithoutExtension(path) };
    }

    /// <summary>The file as indented JSON (recorded in sweep.json).</summary>
    public JsonNode ToJson() => JsonSerializer.SerializeToNode(this, Options)!;

    /// <summary>A setting value from the file as <c>--set</c> text: strings as they are, numbers and booleans as
    /// written, arrays comma-separated.</summary>
    public static string SettingText(JsonNode? value, string where) => value switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.Number => v.ToJsonString(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
        JsonArray a => string.Join(",", a.Select((x, i) => SettingText(x, $"{where}[{i}]"))),
        _ => throw new UsageException($"{where}: expected a string, number, boolean or array, not {value?.GetValueKind().ToString() ?? "null"}."),
    };

    static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    internal static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
