using System.Text.Json.Nodes;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>Builds small notebooks in a temporary folder for the runner tests.</summary>
internal static class TestNotebooks
{
    public static string TestData(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

    public static JsonSchemaValidator Schema { get; } = JsonSchemaValidator.Load(TestData("nbformat.v4.5.schema.json"));

    public static JsonObject Code(string source, string? id = null, params string[] tags)
    {
        var cell = NotebookCell.NewCode(id ?? "c" + Guid.NewGuid().ToString("N")[..8], source, tags);
        return cell.Json;
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

    public static void AssertValid(NotebookDocument notebook)
    {
        var errors = Schema.Validate(JsonNode.Parse(notebook.ToJson()));
        Assert.True(errors.Count == 0, "not valid nbformat 4.5:\n" + string.Join("\n", errors));
    }
}
