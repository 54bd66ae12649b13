using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Workbench.Tests.Notebooks;

/// <summary>
/// A JSON Schema (draft-04) validator for the keywords the nbformat 4.5 schema uses: type, properties,
/// patternProperties, additionalProperties, required, enum, minimum/maximum, minLength/maxLength, pattern,
/// items, minItems, uniqueItems, oneOf/anyOf/allOf, not, and $ref to "#/…" pointers. Other keywords are
/// annotations and are ignored, as the draft says. (The package mirror has no usable JSON Schema library.)
/// </summary>
public sealed class JsonSchemaValidator(JsonNode schema)
{
    readonly JsonNode _root = schema;

    public static JsonSchemaValidator Load(string path) => new(JsonNode.Parse(File.ReadAllText(path))!);

    /// <summary>The violations, each as "path: message"; empty when the instance is valid.</summary>
    public IReadOnlyList<string> Validate(JsonNode? instance)
    {
        var errors = new List<string>();
        Check(_root, instance, "$", errors);
        return errors;
    }

    void Check(JsonNode schemaNode, JsonNode? value, string path, List<string> errors)
    {
        if (schemaNode is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            if (b.GetValueKind() == JsonValueKind.False) errors.Add($"{path}: not allowed");
            return;
        }
        if (schemaNode is not JsonObject s) throw new InvalidOperationException($"schema at {path} is not an object");

        if (s["$ref"] is JsonValue reference)
        {
            // Draft-04: $ref replaces the schema it sits in.
            Check(Resolve((string)reference!), value, path, errors);
            return;
        }

        if (s["type"] is { } type)
        {
            var allowed = type is JsonArray a ? a.Select(t => (string)t!).ToList() : [(string)type!];
            if (!allowed.Any(t => IsType(value, t)))
            {
                errors.Add($"{path}: expected {string.Join(" or ", allowed)}, found {Kind(value)}");
                return;
            }
        }
        if (s["enum"] is JsonArray options && !options.Any(o => JsonNode.DeepEquals(o, value)))
            errors.Add($"{path}: {value?.ToJsonString() ?? "null"} is not one of {options.ToJsonString()}");

        if (value is JsonObject obj) CheckObject(s, obj, path, errors);
        if (value is JsonArray arr) CheckArray(s, arr, path, errors);
        if (value is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.String) CheckString(s, v.GetValue<string>(), path, errors);
            if (v.GetValueKind() == JsonValueKind.Number)
            {
                var n = v.GetValue<double>();
                if (s["minimum"] is { } min && n < min.GetValue<double>()) errors.Add($"{path}: {n} < minimum {min}");
                if (s["maximum"] is { } max && n > max.GetValue<double>()) errors.Add($"{path}: {n} > maximum {max}");
            }
        }

        if (s["allOf"] is JsonArray all)
            foreach (var sub in all) Check(sub!, value, path, errors);
        if (s["anyOf"] is JsonArray any && !any.Any(sub => Passes(sub!, value, path)))
            errors.Add($"{path}: matches none of anyOf");
        if (s["oneOf"] is JsonArray one)
        {
            int matches = one.Count(sub => Passes(sub!, value, path));
            if (matches != 1) errors.Add($"{path}: matches {matches} of oneOf's {one.Count} schemas, not exactly one");
        }
        if (s["not"] is { } not && Passes(not, value, path))
            errors.Add($"{path}: matches a schema under 'not'");
    }

    bool Passes(JsonNode schemaNode, JsonNode? value, string path)
    {
        var errors = new List<string>();
        Check(schemaNode, value, path, errors);
        return errors.Count == 0;
    }

    void CheckObject(JsonObject s, JsonObject obj, string path, List<string> errors)
    {
        if (s["required"] is JsonArray required)
            foreach (var r in required)
                if (!obj.ContainsKey((string)r!)) errors.Add($"{path}: missing required property '{r}'");
        var properties = s["properties"] as JsonObject;
        var patterns = (s["patternProperties"] as JsonObject)?.Select(kv => (Regex: new Regex(kv.Key), Schema: kv.Value!)).ToList() ?? [];
        foreach (var (key, child) in obj)
        {
            var childPath = $"{path}.{key}";
            bool matched = false;
            if (properties?[key] is { } ps) { matched = true; Check(ps, child, childPath, errors); }
            foreach (var (regex, ps2) in patterns)
                if (regex.IsMatch(key)) { matched = true; Check(ps2, child, childPath, errors); }
            if (matched) continue;
            switch (s["additionalProperties"])
            {
                case JsonValue ap when ap.GetValueKind() == JsonValueKind.False:
                    errors.Add($"{childPath}: additional property not allowed");
                    break;
                case JsonObject apSchema:
                    Check(apSchema, child, childPath, errors);
                    break;
            }
        }
    }

    void CheckArray(JsonObject s, JsonArray arr, string path, List<string> errors)
    {
        if (s["minItems"] is { } min && arr.Count < min.GetValue<int>()) errors.Add($"{path}: fewer than {min} items");
        if (s["items"] is JsonObject items)
            for (int i = 0; i < arr.Count; i++) Check(items, arr[i], $"{path}[{i}]", errors);
        if (s["uniqueItems"] is JsonValue u && u.GetValueKind() == JsonValueKind.True)
            for (int i = 0; i < arr.Count; i++)
                for (int j = i + 1; j < arr.Count; j++)
                    if (JsonNode.DeepEquals(arr[i], arr[j])) errors.Add($"{path}: items {i} and {j} are equal");
    }

    static void CheckString(JsonObject s, string text, string path, List<string> errors)
    {
        if (s["pattern"] is { } pattern && !Regex.IsMatch(text, (string)pattern!))
            errors.Add($"{path}: '{text}' does not match {pattern}");
        // Draft-04 counts characters (code points); these fields are ASCII in practice.
        if (s["minLength"] is { } minLen && text.Length < minLen.GetValue<int>()) errors.Add($"{path}: shorter than {minLen}");
        if (s["maxLength"] is { } maxLen && text.Length > maxLen.GetValue<int>()) errors.Add($"{path}: longer than {maxLen}");
    }

    JsonNode Resolve(string reference)
    {
        if (!reference.StartsWith("#", StringComparison.Ordinal))
            throw new NotSupportedException($"only local $ref is supported: {reference}");
        JsonNode node = _root;
        foreach (var raw in reference.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var part = raw.Replace("~1", "/").Replace("~0", "~");
            node = node[part] ?? throw new InvalidOperationException($"$ref {reference}: '{part}' not found");
        }
        return node;
    }

    static bool IsType(JsonNode? value, string type)
    {
        var kind = value?.GetValueKind() ?? JsonValueKind.Null;
        return type switch
        {
            "object" => kind == JsonValueKind.Object,
            "array" => kind == JsonValueKind.Array,
            "string" => kind == JsonValueKind.String,
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "null" => kind == JsonValueKind.Null,
            "number" => kind == JsonValueKind.Number,
            "integer" => kind == JsonValueKind.Number && IsInteger(value!),
            _ => throw new NotSupportedException($"unknown type '{type}'"),
        };
    }

    static bool IsInteger(JsonNode n)
    {
        var d = n.GetValue<double>();
        return Math.Floor(d) == d && !double.IsInfinity(d);
    }

    static string Kind(JsonNode? value) => (value?.GetValueKind() ?? JsonValueKind.Null).ToString().ToLower(CultureInfo.InvariantCulture);
}
