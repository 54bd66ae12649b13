using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workbench.Notebooks;

/// <summary>A notebook file could not be read, or is not nbformat 4.</summary>
public sealed class NotebookFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// An nbformat 4 notebook kept as its JSON tree, so that whatever we do not interpret (notebook and cell
/// metadata, attachments, unknown keys written by other tools) survives a read-write round trip untouched.
/// Typed accessors cover the few fields the runner reads or writes.
/// </summary>
public sealed class NotebookDocument
{
    public JsonObject Root { get; }

    NotebookDocument(JsonObject root) => Root = root;

    public static NotebookDocument Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NotebookFormatException($"{path}: cannot read the notebook: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses notebook JSON; <paramref name="name"/> only labels error messages.</summary>
    public static NotebookDocument Parse(string json, string name = "notebook")
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e)
        {
            throw new NotebookFormatException($"{name}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }
        if (node is not JsonObject root)
            throw new NotebookFormatException($"{name}: a notebook is a JSON object with 'cells', 'metadata', 'nbformat'.");
        var major = root["nbformat"]?.GetValueKind() == JsonValueKind.Number ? root["nbformat"]!.GetValue<int>() : -1;
        if (major != 4)
            throw new NotebookFormatException($"{name}: nbformat {(major < 0 ? "missing" : major)}; only nbformat 4 notebooks are supported.");
        if (root["cells"] is not JsonArray cells)
            throw new NotebookFormatException($"{name}: no 'cells' array.");
        for (int i = 0; i < cells.Count; i++)
        {
            if (cells[i] is not JsonObject c || c["cell_type"]?.GetValueKind() != JsonValueKind.String)
                throw new NotebookFormatException($"{name}: cell {i + 1} has no 'cell_type'.");
        }
        root["metadata"] ??= new JsonObject();
        return new NotebookDocument(root);
    }

    public JsonObject Metadata => (JsonObject)Root["metadata"]!;

    public int FormatMinor
    {
        get => Root["nbformat_minor"]?.GetValueKind() == JsonValueKind.Number ? Root["nbformat_minor"]!.GetValue<int>() : 0;
        set => Root["nbformat_minor"] = value;
    }

    JsonArray CellArray => (JsonArray)Root["cells"]!;

    public IReadOnlyList<NotebookCell> Cells => CellArray.Select(c => new NotebookCell((JsonObject)c!)).ToList();

    public void InsertCell(int index, NotebookCell cell) => CellArray.Insert(index, cell.Json);

    public NotebookDocument Clone() => new((JsonObject)Root.DeepClone());

    /// <summary>
    /// Brings the document to nbformat 4.5: every cell gets an id (4.5 requires them; existing ids are kept).
    /// </summary>
    public void UpgradeToMinor5()
    {
        if (FormatMinor >= 5) return;
        var used = new HashSet<string>(Cells.Select(c => c.Id).OfType<string>());
        foreach (var cell in Cells)
            if (cell.Id is null) cell.Id = NewCellId(used);
        FormatMinor = 5;
    }

    internal static string NewCellId(ISet<string> used)
    {
        string id;
        do id = Guid.NewGuid().ToString("N")[..12]; while (!used.Add(id));
        return id;
    }

    static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        IndentSize = 1, // Jupyter writes one-space indentation; keeps diffs with other tools small
        // Keep non-ASCII text and HTML readable in the file, as Jupyter does (ensure_ascii=False).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => Root.ToJsonString(WriteOptions) + "\n";

    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToJson(), new UTF8Encoding(false));
    }

    /// <summary>nbformat's "multiline string": one string, or an array of lines to concatenate.</summary>
    internal static string ReadMultiline(JsonNode? node) => node switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => x?.GetValue<string>() ?? "")),
        _ when node.GetValueKind() == JsonValueKind.String => node.GetValue<string>(),
        _ => throw new NotebookFormatException($"expected a string or an array of strings, found {node.ToJsonString()}"),
    };

    /// <summary>Splits text into lines that keep their "\n", the way Jupyter stores source and outputs.</summary>
    internal static JsonArray ToMultiline(string text)
    {
        var lines = new JsonArray();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\n') continue;
            lines.Add(text[start..(i + 1)]);
            start = i + 1;
        }
        if (start < text.Length) lines.Add(text[start..]);
        return lines;
    }
}

/// <summary>A view on one cell's JSON object (changes write through to the document).</summary>
public sealed class NotebookCell(JsonObject json)
{
    public JsonObject Json { get; } = json;

    public string CellType => Json["cell_type"]!.GetValue<string>();
    public bool IsCode => CellType == "code";
    public bool IsMarkdown => CellType == "markdown";

    public string? Id
    {
        get => Json["id"]?.GetValueKind() == JsonValueKind.String ? Json["id"]!.GetValue<string>() : null;
        set => Json["id"] = value;
    }

    public string Source
    {
        get => NotebookDocument.ReadMultiline(Json["source"]);
        set => Json["source"] = NotebookDocument.ToMultiline(value);
    }

    public JsonObject Metadata => Child("metadata", () => new JsonObject());

    public IReadOnlyList<string> Tags => Metadata["tags"] is JsonArray tags
        ? tags.Where(t => t?.GetValueKind() == JsonValueKind.String).Select(t => t!.GetValue<string>()).ToList()
        : [];

    /// <summary>The Polyglot kernel of a code cell ("csharp" unless the metadata says otherwise).</summary>
    public string? KernelName =>
        Metadata["polyglot_notebook"]?["kernelName"]?.GetValue<string>()
        ?? Metadata["dotnet_interactive"]?["language"]?.GetValue<string>();

    public JsonArray Outputs => Child("outputs", () => new JsonArray());

    /// <summary>The cell's child node <paramref name="key"/>, created empty when missing (or of another kind).</summary>
    T Child<T>(string key, Func<T> create) where T : JsonNode
    {
        if (Json[key] is T existing) return existing;
        var created = create();
        Json[key] = created;
        return created;
    }

    public int? ExecutionCount
    {
        get => Json["execution_count"]?.GetValueKind() == JsonValueKind.Number ? Json["execution_count"]!.GetValue<int>() : null;
        set => Json["execution_count"] = value;
    }

    /// <summary>A new code cell with the Polyglot C# metadata.</summary>
    public static NotebookCell NewCode(string id, string source, params string[] tags)
    {
        var metadata = new JsonObject
        {
            ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" },
            ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" },
        };
        if (tags.Length > 0) metadata["tags"] = new JsonArray(tags.Select(t => (JsonNode?)t).ToArray());
        return new NotebookCell(new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["id"] = id,
            ["metadata"] = metadata,
            ["outputs"] = new JsonArray(),
            ["source"] = NotebookDocument.ToMultiline(source),
        });
    }
}
