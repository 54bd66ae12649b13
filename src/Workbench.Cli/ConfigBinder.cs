using System.Globalization;
using System.Reflection;

namespace Workbench.Cli;

/// <summary>A command-line mistake: printed without a stack trace, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Applies <c>--set Key=Value</c> pairs to a configuration record (a non-destructive copy, as <c>with { … }</c>
/// would): keys are the record's public properties (case-insensitive), values parse by the property's type
/// (numbers in invariant culture, bools, enums by name, nullable types, arrays as comma-separated lists).
/// Unknown keys and unparsable values are errors listing what is valid.
/// </summary>
public static class ConfigBinder
{
    /// <summary>
    /// Applies each assignment to whichever of the run's two records (model first, then training) has that key;
    /// a key that neither has is an error listing both records' settings.
    /// </summary>
    public static Workbench.Training.RunConfig Apply(Workbench.Training.RunConfig config, IEnumerable<string> assignments)
    {
        object model = config.Model, training = config.Training;
        foreach (var a in assignments)
        {
            var key = a.Split('=', 2)[0].Trim();
            if (Settable(model.GetType()).ContainsKey(key)) model = Apply(model, new[] { a });
            else if (Settable(training.GetType()).ContainsKey(key)) training = Apply(training, new[] { a });
            else if (!a.Contains('=')) model = Apply(model, new[] { a }); // the usual "expected Key=Value" error
            else
                throw new UsageException($"--set: no setting '{key}'. Model settings ({model.GetType().Name}):\n  " + Describe(model) +
                                         $"\nTraining settings ({training.GetType().Name}):\n  " + Describe(training));
        }
        return new Workbench.Training.RunConfig(model, training);
    }

    /// <summary>
    /// <see cref="Apply(Workbench.Training.RunConfig, IEnumerable{string})"/> for a trained run: only the fields in
    /// <paramref name="safe"/> (those that leave its checkpoint valid) may change; any other is refused by name, with
    /// the list of those that may.
    /// </summary>
    public static Workbench.Training.RunConfig ApplySafe(Workbench.Training.RunConfig config, IEnumerable<string> assignments,
        IReadOnlySet<string> safe, string command, string when = "on a trained run")
    {
        var changed = Apply(config, assignments);
        var refused = (Workbench.Training.Checkpoint.DiffJson(RunInfo.ConfigJson(config).ToJsonString(), RunInfo.ConfigJson(changed).ToJsonString()) ?? [])
            .Select(d => d.Field[(d.Field.LastIndexOf('.') + 1)..]).Where(f => !safe.Contains(f)).ToList();
        if (refused.Count > 0)
            throw new UsageException($"{command}: {string.Join(", ", refused)} cannot change {when} " +
                                     $"(it changes the model's shape or the training state). Settings that may change: {string.Join(", ", safe.Order())}.");
        return changed;
    }

    public static T Apply<T>(T config, IEnumerable<string> assignments) where T : class =>
        (T)Apply((object)config, assignments);

    public static object Apply(object config, IEnumerable<string> assignments)
    {
        var type = config.GetType();
        var props = Settable(type);
        var copy = Clone(config);
        foreach (var a in assignments)
        {
            int eq = a.IndexOf('=');
            if (eq <= 0)
                throw new UsageException($"--set '{a}': expected Key=Value, e.g. --set {props.Keys.FirstOrDefault() ?? "Key"}=…");
            var key = a[..eq].Trim();
            var text = a[(eq + 1)..].Trim();
            if (!props.TryGetValue(key, out var prop))
                throw new UsageException($"--set: {type.Name} has no setting '{key}'. Valid keys:\n  " + Describe(config));
            object? value;
            try { value = Parse(text, prop.PropertyType); }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new UsageException($"--set {prop.Name}={text}: not a valid {TypeName(prop.PropertyType)}" +
                    (Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType) switch
                    {
                        var t when t.IsEnum => $" (one of {string.Join(", ", Enum.GetNames(t))})",
                        _ => "",
                    });
            }
            prop.SetValue(copy, value);
        }
        return copy;
    }

    /// <summary>One line per setting: name, type and current value.</summary>
    public static string Describe(object config) =>
        string.Join("\n  ", Settable(config.GetType()).Values.Select(p =>
            $"{p.Name} ({TypeName(p.PropertyType)}) = {Format(p.GetValue(config))}"));

    static Dictionary<string, PropertyInfo> Settable(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .Where(p => IsSimple(p.PropertyType))
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    static bool IsSimple(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t.IsArray) return IsSimple(t.GetElementType()!);
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal);
    }

    static object Clone(object o)
    {
        // Records have a compiler-generated copy constructor; `with` calls it through <Clone>$.
        var clone = o.GetType().GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance);
        return clone is not null ? clone.Invoke(o, null)! : throw new ArgumentException($"{o.GetType().Name} is not a record");
    }

    public static object? Parse(string text, Type type)
    {
        var under = Nullable.GetUnderlyingType(type);
        if (under is not null)
            return text.Equals("null", StringComparison.OrdinalIgnoreCase) || text.Length == 0 ? null : Parse(text, under);
        if (type == typeof(string)) return text;
        if (type == typeof(bool))
            return text.ToLowerInvariant() switch
            {
                "true" or "1" or "yes" or "on" => true,
                "false" or "0" or "no" or "off" => false,
                _ => throw new FormatException(),
            };
        if (type.IsEnum) return Enum.Parse(type, text, ignoreCase: true);
        if (type.IsArray)
        {
            var el = type.GetElementType()!;
            var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var arr = Array.CreateInstance(el, parts.Length);
            for (int i = 0; i < parts.Length; i++) arr.SetValue(Parse(parts[i], el), i);
            return arr;
        }
        return Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
    }

    static string TypeName(Type t)
    {
        var under = Nullable.GetUnderlyingType(t);
        if (under is not null) return TypeName(under) + "?";
        if (t.IsArray) return TypeName(t.GetElementType()!) + "[]";
        return t.Name switch { "Int32" => "int", "Int64" => "long", "Double" => "double", "Single" => "float", "Boolean" => "bool", "String" => "string", var n => n };
    }

    static string Format(object? v) => v switch
    {
        null => "null",
        Array a => string.Join(",", a.Cast<object>().Select(Format)),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
