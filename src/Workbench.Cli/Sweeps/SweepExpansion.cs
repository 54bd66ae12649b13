using System.Text;
using System.Text.Json.Nodes;
using Workbench.Cli.Families;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// Expands a <see cref="SweepFile"/> into its points: the Cartesian product of the grid axes (first axis varying
/// slowest, values in file order) times the seeds (innermost). An axis value is one setting's value, or an object
/// of several <c>--set</c> assignments (e.g. one ablation variant). Names are built from the axis names and values, so
/// the same file always gives the same names. Every point's settings are checked against the family's config
/// (as <c>train --set</c> would) before anything runs, so a misspelt key fails the whole sweep at once.
/// </summary>
public static class SweepExpansion
{
    public static IReadOnlyList<SweepPoint> Expand(SweepFile file, string path)
    {
        IModelFamily family;
        try { family = FamilyRegistry.Get(file.Family); }
        catch (UsageException e) { throw new UsageException($"{path}: family: {e.Message}"); }
        if (file.Steps < 1) throw new UsageException($"{path}: steps must be at least 1.");
        if (file.Batch < 1) throw new UsageException($"{path}: batch must be at least 1.");
        if (file.Seeds.Length == 0) throw new UsageException($"{path}: seeds is empty (give at least one).");
        if (file.Seeds.Distinct().Count() != file.Seeds.Length) throw new UsageException($"{path}: seeds repeat a seed.");
        try { FamilyDefaults.Preset(file.Preset); }
        catch (UsageException e) { throw new UsageException($"{path}: preset: {e.Message}"); }

        var baseSet = file.Set.Select(kv => $"{kv.Key}={SweepFile.SettingText(kv.Value, $"{path}: set.{kv.Key}")}").ToList();
        // Each axis value: (label, --set assignments). A scalar value v of axis K is "K=v"; an object value is a bundle
        // of assignments (an ablation that turns several things off at once, or one axis of unlike changes), labelled
        // by its assignments ("base" when empty).
        var axes = new List<(string Key, (string Label, string[] Sets)[] Values)>();
        foreach (var (key, node) in file.Grid)
        {
            if (node is not JsonArray values || values.Count == 0)
                throw new UsageException($"{path}: grid.{key} must be a non-empty list of values.");
            var parsed = values.Select((v, i) =>
            {
                var where = $"{path}: grid.{key}[{i}]";
                if (v is not JsonObject bundle)
                {
                    if (file.Set.ContainsKey(key)) throw new UsageException($"{path}: {key} is both in set and in grid.");
                    var text = SweepFile.SettingText(v, where);
                    return (Label: text, Sets: new[] { $"{key}={text}" });
                }
                var sets = bundle.Select(kv => $"{kv.Key}={SweepFile.SettingText(kv.Value, $"{where}.{kv.Key}")}").ToArray();
                return (Label: sets.Length == 0 ? "base" : string.Join(",", sets), Sets: sets);
            }).ToArray();
            if (parsed.Select(x => x.Label).Distinct().Count() != parsed.Length) throw new UsageException($"{path}: grid.{key} repeats a value.");
            axes.Add((key, parsed));
        }

        var combos = new List<List<(string Key, string Label, string[] Sets)>> { new() };
        foreach (var (key, values) in axes)
            combos = combos.SelectMany(c => values.Select(v => c.Append((key, v.Label, v.Sets)).ToList())).ToList();

        var points = new List<SweepPoint>();
        foreach (var combo in combos)
        {
            var sets = baseSet.Concat(combo.SelectMany(kv => kv.Sets)).ToList();
            try { ConfigBinder.Apply(family.Preset(file.Preset), sets); }
            catch (UsageException e) { throw new UsageException($"{path}: {OneLine(e.Message)}"); }
            foreach (var seed in file.Seeds)
            {
                var name = string.Join("_", combo.Select(kv => $"{Safe(kv.Key)}-{Safe(kv.Label)}").Append($"seed-{seed}"));
                var args = new List<string> { "train", family.Name, "--data", file.Data ?? family.DefaultData, "--preset", file.Preset,
                    "--steps", SweepFile.Invariant(file.Steps), "--batch", SweepFile.Invariant(file.Batch), "--seed", SweepFile.Invariant(seed) };
                var resume = new List<string>();
                if (file.EvalLimit is long e) args.AddRange(new[] { "--eval-limit", SweepFile.Invariant(e) });
                if (file.CheckpointEvery is long c)
                {
                    args.AddRange(new[] { "--checkpoint-every", SweepFile.Invariant(c) });
                    resume.AddRange(new[] { "--checkpoint-every", SweepFile.Invariant(c) });
                }
                if (file.SampleEvery is long s)
                {
                    args.AddRange(new[] { "--sample-every", SweepFile.Invariant(s) });
                    resume.AddRange(new[] { "--sample-every", SweepFile.Invariant(s) });
                }
                foreach (var set in sets) args.AddRange(new[] { "--set", set });
                points.Add(new SweepPoint(points.Count, name, string.Join(" ", combo.Select(kv => $"{kv.Key}={kv.Label}")),
                    combo.ToDictionary(kv => kv.Key, kv => kv.Label), seed, args, resume));
            }
        }
        var clash = points.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null) throw new UsageException($"{path}: two points would share the folder name '{clash.Key}' (grid values that differ only in punctuation).");
        return points;
    }

    /// <summary>A key or value as a folder-name part: ASCII letters, digits, '.', '+' and '-' kept, anything else
    /// (including '_', which separates the axes) as '~'.</summary>
    static string Safe(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text) sb.Append(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '+' or '-' ? ch : '~');
        return sb.Length == 0 ? "~" : sb.ToString();
    }

    /// <summary>
    /// A multi-line settings error on one line: the first line, then the settings it lists by name
    /// ("Model settings (GlowConfig): Levels, StepsPerLevel, …; Training settings (…): …"), so none is cut off.
    /// </summary>
    internal static string OneLine(string message)
    {
        var lines = message.Split('\n');
        var parts = new List<string>();
        string? heading = null;
        var names = new List<string>();
        void Flush() { if (heading is not null) parts.Add($"{heading} {string.Join(", ", names)}"); names.Clear(); }
        var first = lines[0];
        // the first line may end with the first heading ("no setting 'X'. Model settings (GlowConfig):")
        int at = first.IndexOf(". ", StringComparison.Ordinal);
        if (first.EndsWith(':') && at > 0) { heading = first[(at + 2)..]; first = first[..(at + 1)]; }
        foreach (var line in lines.Skip(1))
        {
            if (line.StartsWith("  ", StringComparison.Ordinal)) names.Add(line.Trim().Split(' ')[0]);
            else if (line.Trim().Length > 0) { Flush(); heading = line.Trim(); }
        }
        Flush();
        return parts.Count == 0 ? first : $"{first} {string.Join("; ", parts)}";
    }
}
