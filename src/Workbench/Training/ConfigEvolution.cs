using System.Reflection;
using System.Text.Json.Nodes;

namespace Workbench.Training;

/// <summary>
/// Reads configs written by an older version: a field marked <see cref="AddedFieldAttribute"/> that the JSON lacks is
/// filled with its behaviour-preserving older value, and each fill is reported (so nothing is filled silently). Any other
/// missing field stays missing, and the config checks refuse it by name.
/// </summary>
public static class ConfigEvolution
{
    /// <summary>A copy of <paramref name="json"/> (an object for a record of <paramref name="type"/>, or for a record holding
    /// such records, e.g. a <see cref="RunConfig"/> whose fields' runtime types are given by <paramref name="like"/>) with
    /// every absent added field filled; <paramref name="filled"/> receives "Type.Field = value (added …)" for each.</summary>
    public static JsonNode? Upgrade(JsonNode? json, Type type, ICollection<string> filled, object? like = null)
    {
        if (json is not JsonObject obj) return json?.DeepClone();
        var copy = (JsonObject)obj.DeepClone();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = copy.FirstOrDefault(kv => string.Equals(kv.Key, p.Name, StringComparison.OrdinalIgnoreCase)).Key;
            if (key is null)
            {
                if (p.GetCustomAttribute<AddedFieldAttribute>() is { } added)
                {
                    copy[p.Name] = JsonNode.Parse(added.OlderValue);
                    filled.Add($"{type.Name}.{p.Name} = {added.OlderValue} (the field was added {added.Since}; absent in this file, read as the behaviour it was written with)");
                }
                continue;
            }
            // nested records: the declared type, or the runtime type of the matching value in `like` (RunConfig's object fields)
            var nestedType = like is not null && p.GetIndexParameters().Length == 0 ? p.GetValue(like)?.GetType() : p.PropertyType;
            if (nestedType is { IsClass: true } && nestedType != typeof(string) && !nestedType.IsArray && copy[key] is JsonObject)
                copy[key] = Upgrade(copy[key], nestedType, filled, like is null ? null : p.GetValue(like));
        }
        return copy;
    }

    /// <summary><see cref="Upgrade(JsonNode?, Type, ICollection{string}, object?)"/> on JSON text.</summary>
    public static string Upgrade(string json, Type type, ICollection<string> filled, object? like = null) =>
        Upgrade(JsonNode.Parse(json), type, filled, like)?.ToJsonString() ?? json;
}
