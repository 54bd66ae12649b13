using System.Reflection;
using System.Text.Json.Nodes;

namespace Workbench.Training;

/// <summary>
/// Reads configs written by an older version: a field marked <see cref="AddedFieldAttribute"/> that the JSON lacks is
/// filled with its behaviour-preserving older value, and each fill is reported (so nothing is filled silently). Any other
/// missing field stays missing, and the config checks refuse it by name. A field that moved from the model record to
/// the training record (StyleGAN2's training settings, which lived in <c>StyleGan2Config</c> until 2026-12-07; the model
/// record carries <see cref="FieldsMovedToAttribute"/>) is dropped from the model record and moved to the training
/// record (<see cref="MoveTrainingFields"/>).
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
        foreach (var moved in type.GetCustomAttributes<FieldsMovedToAttribute>())
            foreach (var key in copy.Select(kv => kv.Key).Where(k => Has(moved.Record, k) && !Has(type, k)).ToList())
                copy.Remove(key);
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

    /// <summary>
    /// Moves the fields of <paramref name="config"/>'s model object (key "model", any case) that <paramref name="trainingType"/>
    /// has and <paramref name="modelType"/> does not into its training object ("training", made when absent), unless the
    /// training object holds them already: a run config written when those fields were the model record's. Returns a
    /// copy; <paramref name="config"/> is not changed.
    /// </summary>
    public static JsonObject MoveTrainingFields(JsonObject config, Type modelType, Type trainingType)
    {
        var copy = (JsonObject)config.DeepClone();
        string? Key(JsonObject o, string name) => o.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Key;
        if (Key(copy, "model") is not { } modelKey || copy[modelKey] is not JsonObject model) return copy;
        var trainingKey = Key(copy, "training") ?? (modelKey == "Model" ? "Training" : "training");
        if (copy[trainingKey] is not JsonObject training) copy[trainingKey] = training = new JsonObject();
        foreach (var key in model.Select(kv => kv.Key).ToList())
        {
            if (Has(modelType, key) || !Has(trainingType, key)) continue;
            var value = model[key];
            model.Remove(key);
            if (Key(training, key) is null) training[key] = value;
        }
        return copy;
    }

    static bool Has(Type t, string name) => t.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not null;

    /// <summary>A run config stored as its model record alone (a StyleGAN2 checkpoint written before its training settings
    /// had their own record), in the <see cref="RunConfig"/> shape ("Model", "Training") with the training fields moved.</summary>
    public static JsonObject AsRunConfig(JsonNode? model, Type modelType, Type trainingType) =>
        MoveTrainingFields(new JsonObject { ["Model"] = model?.DeepClone(), ["Training"] = new JsonObject() }, modelType, trainingType);
}
