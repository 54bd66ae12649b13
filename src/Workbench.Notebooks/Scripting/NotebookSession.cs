using System.Text;
using System.Text.Json.Nodes;

namespace Workbench.Notebooks.Scripting;

/// <summary>
/// The outputs of the cell that is running. Code reaches it through <see cref="Current"/>, an async-local,
/// so notebooks run side by side (as tests do) each capture their own output, and tasks a cell starts still
/// write into that cell.
/// </summary>
internal sealed class NotebookSession
{
    static readonly AsyncLocal<NotebookSession?> _current = new();

    public static NotebookSession? Current
    {
        get => _current.Value;
        set => _current.Value = value;
    }

    public static NotebookSession Require() => Current ?? throw new InvalidOperationException(
        "display() only works inside a notebook run (Polyglot Notebooks or `workbench notebook run`).");

    readonly object _lock = new();
    JsonArray? _outputs;

    /// <summary>Outputs now go to this cell's output list.</summary>
    public void BeginCell(JsonArray outputs)
    {
        lock (_lock) _outputs = outputs;
    }

    public void EndCell()
    {
        lock (_lock) _outputs = null;
    }

    JsonArray Outputs => _outputs ?? throw new InvalidOperationException("no cell is running.");

    public DisplayedValue Display(object? value, string[] mimeTypes)
    {
        var output = new JsonObject
        {
            ["output_type"] = "display_data",
            ["data"] = Bundle(value, mimeTypes),
            ["metadata"] = new JsonObject(),
        };
        lock (_lock) Outputs.Add(output);
        return new DisplayedValue(this, output, mimeTypes);
    }

    public void Replace(JsonObject output, object? value, string[] mimeTypes)
    {
        var data = Bundle(value, mimeTypes); // format outside the lock: formatters may be slow
        lock (_lock) output["data"] = data;
    }

    /// <summary>The value of a cell's trailing expression.</summary>
    public void Result(object? value, int executionCount)
    {
        var output = new JsonObject
        {
            ["output_type"] = "execute_result",
            ["execution_count"] = executionCount,
            ["data"] = Bundle(value, []),
            ["metadata"] = new JsonObject(),
        };
        lock (_lock) Outputs.Add(output);
    }

    /// <summary>Console text; consecutive writes to one stream join one output, as Jupyter shows them.</summary>
    public void Write(string stream, string text)
    {
        if (text.Length == 0) return;
        lock (_lock)
        {
            if (_outputs is null) return;
            if (_outputs.Count > 0 && _outputs[^1] is JsonObject last
                && (string?)last["output_type"] == "stream" && (string?)last["name"] == stream)
            {
                last["text"] = (string)last["text"]! + text;
                return;
            }
            _outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = stream, ["text"] = text });
        }
    }

    static JsonObject Bundle(object? value, string[] mimeTypes)
    {
        var data = new JsonObject();
        foreach (var (mime, text) in OutputFormatter.Format(value, mimeTypes))
            data[mime] = text;
        return data;
    }
}

/// <summary>
/// Console.Out / Console.Error while notebooks run: text written on behalf of a running cell goes into
/// that cell's outputs; anything else (the CLI's own messages) passes through to the real console.
/// Installed once per process, since Console's writers are process-wide.
/// </summary>
internal sealed class ConsoleRouter(TextWriter passThrough, string stream) : TextWriter
{
    static readonly object InstallLock = new();
    static bool _installed;

    public static TextWriter OriginalOut { get; private set; } = Console.Out;
    public static TextWriter OriginalError { get; private set; } = Console.Error;

    public static void Install()
    {
        lock (InstallLock)
        {
            if (_installed) return;
            OriginalOut = Console.Out;
            OriginalError = Console.Error;
            Console.SetOut(new ConsoleRouter(OriginalOut, "stdout"));
            Console.SetError(new ConsoleRouter(OriginalError, "stderr"));
            _installed = true;
        }
    }

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(string? value)
    {
        if (value is null) return;
        if (NotebookSession.Current is { } session) session.Write(stream, value);
        else passThrough.Write(value);
    }

    public override void WriteLine(string? value) => Write((value ?? "") + NewLine);

    public override void Flush()
    {
        if (NotebookSession.Current is null) passThrough.Flush();
    }
}
