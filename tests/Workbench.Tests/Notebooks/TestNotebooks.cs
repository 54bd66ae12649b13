using System.Text.Json.Nodes;

namespace Workbench.Tests.Notebooks;

/// <summary>Builds small notebooks in a temporary folder for the runner tests.</summary>
internal static class TestNotebooks
{
    public static string TestData(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

    /// <summary>
    /// Jupyter's nbformat 4.5 schema, validated by JsonSchema.Net. The file declares draft-04, which that library does
    /// not evaluate; the keywords nbformat uses mean the same in draft-07, so it is evaluated as draft-07.
    /// </summary>
    public static Json.Schema.JsonSchema Schema { get; } = Json.Schema.JsonSchema.FromText(
        JsonNode.Parse(File.ReadAllText(TestData("nbformat.v4.5.schema.json")))!.AsObject() is var o && o.Remove("$schema") ? o.ToJsonString() : "");

    /// <summary>The schema's complaints about <paramref name="notebook"/>, one line each (where and what).</summary>
    public static List<string> Validate(JsonNode? notebook)
    {
        var result = Schema.Evaluate(notebook, new Json.Schema.EvaluationOptions { OutputFormat = Json.Schema.OutputFormat.List, EvaluateAs = Json.Schema.SpecVersion.Draft7 });
        return result.IsValid ? [] : (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}")).ToList();
    }

    /// <summary>A Polyglot C# code cell, as VS Code writes one.</summary>
    public static JsonObject Code(string source, string? id = null, params string[] tags)
    {
        var metadata = new JsonObject
        {
            ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" },
            ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" },
        };
        if (tags.Length > 0) metadata["tags"] = new JsonArray(tags.Select(t => (JsonNode?)t).ToArray());
        return new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["id"] = id ?? "c" + Guid.NewGuid().ToString("N")[..8],
            ["metadata"] = metadata,
            ["outputs"] = new JsonArray(),
            ["source"] = source,
        };
    }

    public static JsonObject Markdown(string source, string? id = null) => new()
    {
        ["cell_type"] = "markdown",
        ["id"] = id ?? "m" + Guid.NewGuid().ToString("N")[..8],
        ["metadata"] = new JsonObject(),
        ["source"] = source,
    };

    /// <summary>Writes a Polyglot-style nbformat 4.5 notebook into a fresh temporary folder; returns its path.</summary>
    public static string Write(string name, params JsonObject[] cells)
    {
        var dir = Path.Combine(Path.GetTempPath(), "wb-nb-tests", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var nb = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode?)c).ToArray()),
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" },
                ["polyglot_notebook"] = new JsonObject { ["kernelInfo"] = new JsonObject { ["defaultKernelName"] = "csharp" } },
            },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        };
        var path = Path.Combine(dir, name + ".ipynb");
        File.WriteAllText(path, nb.ToJsonString());
        return path;
    }

    /// <summary>A #r line for an assembly the test process has loaded, relative to the notebook's folder.</summary>
    public static string ReferenceTo(string notebookPath, System.Reflection.Assembly assembly) =>
        $"#r \"{Path.GetRelativePath(Path.GetDirectoryName(notebookPath)!, assembly.Location).Replace('\\', '/')}\"";

    public static string Text(JsonNode? multiline) => multiline switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => (string?)x)),
        _ => (string)multiline!,
    };

    public static JsonObject Load(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    public static List<JsonObject> Cells(JsonObject notebook) => notebook["cells"]!.AsArray().OfType<JsonObject>().ToList();

    public static List<string> Tags(JsonObject cell) =>
        cell["metadata"]?["tags"] is JsonArray tags ? tags.Select(t => (string)t!).ToList() : [];

    public static void AssertValid(JsonObject notebook)
    {
        var errors = Validate(notebook);
        Assert.True(errors.Count == 0, "not valid nbformat 4.5:\n" + string.Join("\n", errors));
    }
}
