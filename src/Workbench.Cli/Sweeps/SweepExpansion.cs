using System.Text;
using Workbench.Cli.Families;

namespace Workbench.Cli.Sweeps;

/// <summary>
/// Expands a <see cref="SweepFile"/> into its points: the Cartesian product of the grid axes (first axis varying
/// slowest, values in file order) times the seeds (innermost). Names are built from the axis names and values, so
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
        var axes = new List<(string Key, string[] Values)>();
        foreach (var (key, node) in file.Grid)
        {
            if (node is not System.Text.Json.Nodes.JsonArray values || values.Count == 0)
                throw new UsageException($"{path}: grid.{key} must be a non-empty list of values.");
            if (file.Set.ContainsKey(key)) throw new UsageException($"{path}: {key} is both in set and in grid.");
            var texts = values.Select((v, i) => SweepFile.SettingText(v, $"{path}: grid.{key}[{i}]")).ToArray();
            if (texts.Distinct().Count() != texts.Length) throw new UsageException($"{path}: grid.{key} repeats a value.");
            axes.Add((key, texts));
        }

        var combos = new List<List<(string Key, string Value)>> { new() };
        foreach (var (key, values) in axes)
            combos = combos.SelectMany(c => values.Select(v => c.Append((key, v)).ToList())).ToList();

        var points = new List<SweepPoint>();
        foreach (var combo in combos)
        {
            var sets = baseSet.Concat(combo.Select(kv => $"{kv.Key}={kv.Value}")).ToList();
            try { ConfigBinder.Apply(family.Preset(file.Preset), sets); }
            catch (UsageException e) { throw new UsageException($"{path}: {e.Message.Split('\n')[0]}"); }
            foreach (var seed in file.Seeds)
            {
                var name = string.Join("_", combo.Select(kv => $"{Safe(kv.Key)}-{Safe(kv.Value)}").Append($"seed-{seed}"));
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
                points.Add(new SweepPoint(points.Count, name, string.Join(" ", combo.Select(kv => $"{kv.Key}={kv.Value}")),
                    combo.ToDictionary(kv => kv.Key, kv => kv.Value), seed, args, resume));
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
}
