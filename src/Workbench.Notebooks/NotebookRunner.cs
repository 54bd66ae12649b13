using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;

namespace Workbench.Notebooks;

/// <summary>How to run a notebook.</summary>
public sealed record RunOptions
{
    /// <summary><c>--param name=value</c> values, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary><c>--quick</c>: the same as the parameter <c>quick=true</c>.</summary>
    public bool Quick { get; init; }

    /// <summary>Folder for the executed notebook (and report); null writes nothing.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Also write a standalone HTML report next to the executed notebook.</summary>
    public bool Html { get; init; }

    /// <summary>Where the per-cell progress lines go (the CLI passes stderr); null for none.</summary>
    public TextWriter? Progress { get; init; }

    /// <summary>The longest one cell may run (papermill's <c>--execution-timeout</c>); null for no limit.</summary>
    public TimeSpan? CellTimeout { get; init; }

    /// <summary>Stops the run (the CLI cancels it on SIGTERM and Ctrl-C): the running cell is named as interrupted
    /// and the partial executed notebook is written.</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>Why a run stopped: the cell (1-based position in the notebook file, markdown included; 0 for the
/// injected parameters cell or for the notebook as a whole), the line within it when the kernel reports one,
/// and a message that names the notebook, the cell and the line.</summary>
public sealed record CellFailure(int Cell, string? CellId, int? Line, string Message);

/// <summary>The outcome of one notebook.</summary>
public sealed class RunResult
{
    internal RunResult(string path) => NotebookPath = path;

    public string NotebookPath { get; }

    /// <summary>The executed notebook (partial when a cell failed) as nbformat JSON; null when the file could not be read.</summary>
    public JsonObject? Executed { get; internal set; }

    public CellFailure? Failure { get; internal set; }

    public bool Succeeded => Failure is null;

    /// <summary>True when the notebook did not start because of its input (an unreadable file, a parameter it does not
    /// declare, a cell in another language, an output folder that is its own): the command's exit code is then 2.</summary>
    public bool BadInput { get; internal set; }

    public string? NotebookOutputPath { get; internal set; }

    public string? HtmlOutputPath { get; internal set; }

    public TimeSpan Elapsed { get; internal set; }

    /// <summary>Source cell number (1-based, as in the notebook file) → index of that cell in <see cref="Executed"/>.</summary>
    internal Dictionary<int, int> CellIndexByNumber { get; } = [];

    /// <summary>The outputs of a cell, by its 1-based position in the notebook file.</summary>
    public IReadOnlyList<JsonObject> Outputs(int cell) =>
        CellIndexByNumber.TryGetValue(cell, out var i) && Executed?["cells"]?[i]?["outputs"] is JsonArray outputs
            ? outputs.OfType<JsonObject>().ToList()
            : throw new ArgumentOutOfRangeException(nameof(cell), $"{NotebookPath} has no code cell {cell}.");

    /// <summary>Every output of every executed cell, in order.</summary>
    public IReadOnlyList<JsonObject> AllOutputs =>
        Executed?["cells"] is JsonArray cells
            ? cells.OfType<JsonObject>().SelectMany(c => c["outputs"] is JsonArray o ? o.OfType<JsonObject>() : []).ToList()
            : [];
}

/// <summary>
/// Runs a Polyglot Notebooks C# notebook headless on the .NET Interactive kernel, in process
/// (<see cref="InteractiveKernel"/>): code cells in order, each as one <see cref="SubmitCode"/>, in the notebook's
/// folder (as VS Code and Jupyter start the kernel there), stopping at the first failing cell. The executed copy is
/// read and written with Microsoft.DotNet.Interactive.Documents.
/// </summary>
public static partial class NotebookRunner
{
    const string CSharp = "csharp";

    /// <summary>The current directory is process-wide: one notebook runs at a time in a process.</summary>
    static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public static async Task<RunResult> RunAsync(string path, RunOptions? options = null)
    {
        options ??= new RunOptions();
        await OneAtATime.WaitAsync();
        var previousDirectory = Environment.CurrentDirectory;
        try { return await RunLockedAsync(path, options); }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
            OneAtATime.Release();
        }
    }

    static async Task<RunResult> RunLockedAsync(string path, RunOptions options)
    {
        var clock = Stopwatch.StartNew();
        var started = DateTimeOffset.Now;
        var result = new RunResult(path);
        var file = Path.GetFileName(path);
        var name = Path.GetFileNameWithoutExtension(path);
        var fullPath = Path.GetFullPath(path);
        var target = options.OutputDirectory is { } outDir ? Path.GetFullPath(Path.Combine(outDir, file)) : null;
        if (target is not null && string.Equals(target, fullPath, StringComparison.Ordinal))
        {
            result.Failure = new CellFailure(0, null, null, $"{path}: the output folder is the notebook's own folder; refusing to overwrite the notebook.");
            result.BadInput = true;
            return result;
        }

        InteractiveDocument document;
        try { document = Notebook.Parse(await File.ReadAllTextAsync(fullPath), Kernels()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            result.Failure = new CellFailure(0, null, null, $"{path}: cannot be read as a notebook: {e.Message}");
            result.BadInput = true;
            return result;
        }

        // Cell numbers are positions in the source file; the injected parameters cell has number 0.
        var numbers = new Dictionary<InteractiveDocumentElement, int>();
        for (int i = 0; i < document.Elements.Count; i++) numbers[document.Elements[i]] = i + 1;

        var values = options.Parameters.ToList();
        if (options.Quick) values.Add(KeyValuePair.Create("quick", "true"));
        var parametersCell = document.Elements.FirstOrDefault(e => IsCode(e) && Tags(e).Contains(Parameters.Tag));
        if (document.Elements.FirstOrDefault(e => !IsCode(e) && e.KernelName != "markdown") is { } other)
        {
            result.Failure = new CellFailure(numbers[other], other.Id, null,
                $"{file}: cell {numbers[other]} is a '{other.KernelName}' cell; `notebook run` has the C# kernel only.");
            result.BadInput = true;
            return result;
        }
        try
        {
            if (values.Count > 0)
            {
                if (parametersCell is null)
                    throw new ParameterException($"{file}: has no cell tagged '{Parameters.Tag}', so --quick and --param have nothing to set.");
                var injection = Parameters.BuildInjection(Parameters.Declared(parametersCell.Contents), values, file);
                var injected = new InteractiveDocumentElement(injection, CSharp)
                {
                    Id = "injected-parameters",
                    Metadata = new Dictionary<string, object> { ["tags"] = new[] { Parameters.InjectedTag } },
                };
                document.Elements.Insert(document.Elements.IndexOf(parametersCell) + 1, injected);
                numbers[injected] = 0;
            }
        }
        catch (ParameterException e)
        {
            result.Failure = new CellFailure(0, null, null, e.Message);
            result.BadInput = true;
            return result;
        }

        foreach (var element in document.Elements.Where(IsCode))
        {
            element.Outputs.Clear();
            element.ExecutionOrder = 0;
        }
        for (int i = 0; i < document.Elements.Count; i++)
            if (numbers[document.Elements[i]] > 0) result.CellIndexByNumber[numbers[document.Elements[i]]] = i;

        // The kernel resolves #r paths against the current directory, which must be set before it is created.
        Environment.CurrentDirectory = Path.GetDirectoryName(fullPath)!;
        Workbench.Plots.Chart.ResetPlotlyJsDelivery();
        var codeCells = document.Elements.Where(IsCode).ToList();
        using (var kernel = InteractiveKernel.Create())
        {
            int executionCount = 0;
            foreach (var cell in codeCells)
            {
                var number = numbers[cell];
                cell.ExecutionOrder = ++executionCount;
                var cellClock = Stopwatch.StartNew();
                var cellStart = DateTimeOffset.Now;
                var outputs = new CellOutputs(cell);
                var (commandResult, stopped) = await SubmitAsync(kernel, cell.Contents, options);
                CommandFailed? failed = null;
                foreach (var e in commandResult?.Events ?? [])
                {
                    if (e is CommandFailed f) failed = f;
                    else outputs.Add(e);
                }
                cell.Metadata ??= new Dictionary<string, object>();
                cell.Metadata["execution"] = new Dictionary<string, object>
                {
                    ["iopub.execute_input"] = cellStart.ToString("o", CultureInfo.InvariantCulture),
                    ["shell.execute_reply"] = DateTimeOffset.Now.ToString("o", CultureInfo.InvariantCulture),
                };
                var label = number == 0 ? "injected parameters" : $"cell {number}/{document.Elements.Count}";
                if (failed is not null || stopped is not null)
                {
                    int? line = null;
                    if (failed is not null)
                    {
                        outputs.Failed(failed);
                        line = LineOf(failed.Message);
                    }
                    else outputs.Stopped(stopped!);
                    var where = number == 0 ? "the injected parameters cell" : $"cell {number}" + (cell.Id is { } id ? $" (id {id})" : "");
                    var at = line is null ? "" : $", line {line}";
                    result.Failure = new CellFailure(number, cell.Id, line, $"{file}: {where}{at}: {stopped ?? FirstLine(failed!)}");
                    options.Progress?.WriteLine($"[{name}] {label} FAILED {cellClock.Elapsed.TotalSeconds:0.0} s");
                    break;
                }
                options.Progress?.WriteLine($"[{name}] {label} ok {cellClock.Elapsed.TotalSeconds:0.0} s");
            }
        }

        result.Elapsed = clock.Elapsed;
        document.Metadata["workbench_run"] = new Dictionary<string, object>
        {
            ["status"] = result.Succeeded ? "ok" : "failed",
            ["parameters"] = values.ToDictionary(kv => kv.Key, kv => (object)kv.Value),
            ["start_time"] = started.ToString("o", CultureInfo.InvariantCulture),
            ["end_time"] = DateTimeOffset.Now.ToString("o", CultureInfo.InvariantCulture),
            ["elapsed_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
        };
        var json = Notebook.ToJupyterJson(document);
        result.Executed = JsonNode.Parse(json)!.AsObject();
        if (target is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await WriteAtomicallyAsync(target, json);
            result.NotebookOutputPath = target;
            if (options.Html)
            {
                var html = Path.ChangeExtension(target, ".html");
                await WriteAtomicallyAsync(html, HtmlReport.Render(result.Executed, name));
                result.HtmlOutputPath = html;
            }
        }
        return result;
    }

    /// <summary>Runs one cell; on timeout or cancellation asks the kernel to cancel it and returns why it stopped
    /// (C# code that never checks for cancellation keeps running until the process ends).</summary>
    static async Task<(KernelCommandResult? Result, string? Stopped)> SubmitAsync(Kernel kernel, string code, RunOptions options)
    {
        var send = kernel.SendAsync(new SubmitCode(code, CSharp));
        var limit = options.CellTimeout is { } t ? Task.Delay(t) : Task.Delay(Timeout.Infinite);
        var cancelled = Task.Delay(Timeout.Infinite, options.Cancellation);
        var first = await Task.WhenAny(send, limit, cancelled);
        if (first == send) return (await send, null);
        _ = kernel.SendAsync(new Cancel());
        return (null, first == limit
            ? $"timed out after {options.CellTimeout!.Value.TotalSeconds:0.#} s (--timeout)"
            : "interrupted before it finished");
    }

    static KernelInfoCollection Kernels() => [new Microsoft.DotNet.Interactive.Documents.KernelInfo(CSharp, "C#", ["c#", "C#"])];

    static bool IsCode(InteractiveDocumentElement e) => e.KernelName == CSharp;

    /// <summary>The cell's <c>metadata.tags</c>, whatever shape the document reader gave them.</summary>
    internal static IReadOnlyList<string> Tags(InteractiveDocumentElement e) =>
        e.Metadata?.TryGetValue("tags", out var tags) == true && tags is not null
            ? JsonSerializer.SerializeToNode(tags) is JsonArray a ? a.Select(t => t?.GetValueKind() == JsonValueKind.String ? (string)t! : "").ToList() : []
            : [];

    /// <summary>Compile errors come as <c>(line,column): error CSxxxx: …</c>.</summary>
    static int? LineOf(string message) =>
        CompileError().Match(message) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>The exception and, since the kernel compiles cells without line information, the innermost frame
    /// (a method of a cell shows as <c>Submission#N.Name</c>).</summary>
    static string FirstLine(CommandFailed failed)
    {
        var message = failed.Exception is { } e ? $"{e.GetType().FullName}: {e.Message}" : failed.Message;
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var text = lines.Length == 0 ? "failed" : string.Join(" ", lines.Take(3).Select(l => l.Trim()));
        var frame = failed.Exception?.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("at ", StringComparison.Ordinal));
        return frame is null ? text : $"{text} ({frame})";
    }

    static async Task WriteAtomicallyAsync(string path, string text)
    {
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    [GeneratedRegex(@"^\((\d+),\d+\): error")]
    private static partial Regex CompileError();
}
