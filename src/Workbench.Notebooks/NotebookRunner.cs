using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Scripting;
using Workbench.Notebooks.Scripting;

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
}

/// <summary>Why a run stopped: the cell (1-based position in the notebook file; 0 for the injected
/// parameters cell or for a problem with the notebook as a whole), the line within it when known, and a
/// message that names the notebook, cell, line and exception.</summary>
public sealed record CellFailure(int Cell, string? CellId, int? Line, string Message, Exception? Exception);

/// <summary>The outcome of one notebook.</summary>
public sealed class RunResult
{
    internal RunResult(string path) => NotebookPath = path;

    public string NotebookPath { get; }

    /// <summary>The executed copy (partial when a cell failed); null when the file could not be read.</summary>
    public NotebookDocument? Executed { get; internal set; }

    public CellFailure? Failure { get; internal set; }

    public bool Succeeded => Failure is null;

    public string? NotebookOutputPath { get; internal set; }

    public string? HtmlOutputPath { get; internal set; }

    public TimeSpan Elapsed { get; internal set; }

    /// <summary>Source cell number (1-based) → its cell in <see cref="Executed"/>.</summary>
    internal Dictionary<int, NotebookCell> CellsByNumber { get; } = [];

    /// <summary>The outputs of a cell, by its 1-based position in the notebook file.</summary>
    public IReadOnlyList<JsonObject> Outputs(int cell) =>
        CellsByNumber.TryGetValue(cell, out var c) ? c.Outputs.OfType<JsonObject>().ToList()
        : throw new ArgumentOutOfRangeException(nameof(cell), $"{NotebookPath} has no code cell {cell}.");

    /// <summary>Every output of every executed cell, in order.</summary>
    public IReadOnlyList<JsonObject> AllOutputs =>
        Executed?.Cells.Where(c => c.IsCode).SelectMany(c => c.Outputs.OfType<JsonObject>()).ToList() ?? [];
}

/// <summary>
/// Runs a Polyglot Notebooks C# notebook headless: code cells in order in one Roslyn script session (later
/// cells see earlier variables), on one dedicated thread, capturing displays, console output and trailing
/// values into an executed nbformat 4.5 copy.
/// </summary>
public static class NotebookRunner
{
    /// <summary>The .NET Interactive C# kernel's usings, plus our kernel API (display, Display()).</summary>
    public static readonly IReadOnlyList<string> DefaultImports =
    [
        "System", "System.Collections", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http",
        "System.Text", "System.Threading", "System.Threading.Tasks",
        "Workbench.Notebooks.Scripting", "Workbench.Notebooks.Scripting.Kernel",
    ];

    public static Task<RunResult> RunAsync(string path, RunOptions? options = null)
    {
        options ??= new RunOptions();
        var done = new TaskCompletionSource<RunResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        // One thread for the whole notebook: a cell's code runs on the thread that starts it, up to its first
        // await, so synchronous cells (training loops included) all run here. That matters because TorchSharp
        // keeps dispose scopes and grad mode per thread. No SynchronizationContext is installed: after an
        // await a cell continues on the thread pool, exactly as in Polyglot Notebooks, and a cell that
        // blocks on a task (.Result) cannot deadlock. A large stack because Roslyn recurses on long expressions.
        var thread = new Thread(() =>
        {
            try { done.SetResult(Run(path, options)); }
            catch (Exception e) { done.SetException(e); }
        }, maxStackSize: 16 * 1024 * 1024)
        {
            IsBackground = true,
            Name = "notebook " + Path.GetFileName(path),
        };
        thread.Start();
        return done.Task;
    }

    /// <param name="References">What the cell compiles against: the references of the cells up to and
    /// including it, as in the kernel, where a package is usable from the cell that references it on.</param>
    sealed record PlannedCell(int Number, NotebookCell Cell, PreparedCell Code, IReadOnlyList<Assembly> References);

    static RunResult Run(string path, RunOptions options)
    {
        var clock = Stopwatch.StartNew();
        var result = new RunResult(path);
        var file = Path.GetFileName(path);
        var name = Path.GetFileNameWithoutExtension(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;

        var target = options.OutputDirectory is { } outDir ? Path.GetFullPath(Path.Combine(outDir, file)) : null;
        if (target is not null && string.Equals(target, Path.GetFullPath(path), StringComparison.Ordinal))
        {
            result.Failure = new CellFailure(0, null, null,
                $"{path}: the output folder is the notebook's own folder; refusing to overwrite the notebook.", null);
            return result;
        }

        NotebookDocument source;
        try { source = NotebookDocument.Load(path); }
        catch (NotebookFormatException e)
        {
            result.Failure = new CellFailure(0, null, null, e.Message, e);
            return result;
        }

        var executed = source.Clone();
        executed.UpgradeToMinor5();
        result.Executed = executed;

        // Everything that can be checked without running is checked first: cell languages, directives, the
        // packages and assemblies they name, parameters.
        var plan = new List<PlannedCell>();
        var references = new List<Assembly> { typeof(Kernel).Assembly };
        var cells = executed.Cells;
        try
        {
            for (int i = 0; i < cells.Count; i++)
            {
                var cell = cells[i];
                if (!cell.IsCode) continue;
                cell.Outputs.Clear();
                cell.ExecutionCount = null;
                result.CellsByNumber[i + 1] = cell;
                if (cell.KernelName is { } kernel && !kernel.Equals("csharp", StringComparison.OrdinalIgnoreCase)
                    && !kernel.Equals("C#", StringComparison.OrdinalIgnoreCase))
                    throw new CellException(i + 1, null,
                        $"the cell's kernel is '{kernel}'; the headless runner runs C# cells only.");
                PreparedCell prepared;
                try
                {
                    prepared = Directives.Prepare(cell.Source);
                    foreach (var p in prepared.Packages) references.AddRange(CarriedPackages.Resolve(p));
                    foreach (var a in prepared.Assemblies) references.Add(Directives.ResolveAssembly(a, folder));
                }
                catch (DirectiveException e) { throw new CellException(i + 1, e.Line, e.Message); }
                // one reference per assembly name: two Assembly objects of one name (say, TorchSharp loaded by name
                // and by path) would make the cell compile against two identities of the same types
                plan.Add(new PlannedCell(i + 1, cell, prepared,
                    references.GroupBy(a => a.GetName().Name, StringComparer.OrdinalIgnoreCase).Select(g => g.First()).ToList()));
            }
            InjectParameters(executed, plan, options, file);
        }
        catch (CellException e)
        {
            result.Failure = Describe(file, e.Cell, e.Cell > 0 ? cells[e.Cell - 1].Id : null, e.Line, e.Message, null);
            return result;
        }
        catch (ParameterException e)
        {
            result.Failure = new CellFailure(0, null, null, e.Message, e);
            return result;
        }

        ConsoleRouter.Install();
        var session = new NotebookSession();
        var baseOptions = ScriptOptions.Default
            .AddReferences(FrameworkReferences.Value)
            .WithImports(DefaultImports)
            .WithEmitDebugInformation(true) // line numbers in exception stack traces
            .WithFileEncoding(Encoding.UTF8);
        var cellOfFile = new Dictionary<string, PlannedCell>();
        ScriptState<object>? state = null;
        int executionCount = 0;
        int total = cells.Count;
        var startedAt = DateTime.UtcNow;

        foreach (var planned in plan)
        {
            var label = planned.Number == 0 ? "injected parameters" : $"cell {planned.Number}/{total}";
            var scriptPath = $"{file}#{(planned.Number == 0 ? "parameters" : "cell" + planned.Number)}";
            cellOfFile[scriptPath] = planned;
            var cellOptions = baseOptions.AddReferences(planned.References).WithFilePath(scriptPath);
            var cell = planned.Cell;
            var start = DateTime.UtcNow;
            var cellClock = Stopwatch.StartNew();
            cell.ExecutionCount = ++executionCount;
            session.BeginCell(cell.Outputs);
            NotebookSession.Current = session;
            CellFailure? failure = null;
            try
            {
                // Blocking here keeps every cell's synchronous code on this one thread (see RunAsync).
                state = (state is null
                    ? CSharpScript.RunAsync(planned.Code.Code, cellOptions)
                    : state.ContinueWithAsync(planned.Code.Code, cellOptions)).GetAwaiter().GetResult();
                if (HasTrailingValue(state.Script) && state.ReturnValue is not DisplayedValue)
                    session.Result(state.ReturnValue, executionCount);
            }
            catch (CompilationErrorException e)
            {
                var errors = e.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
                int? line = errors.Count > 0 ? errors[0].Location.GetLineSpan().StartLinePosition.Line + 1 : null;
                var text = string.Join("; ", errors.Select(d =>
                    $"line {d.Location.GetLineSpan().StartLinePosition.Line + 1}: {d.Id} {d.GetMessage(CultureInfo.InvariantCulture)}"));
                failure = Describe(file, planned.Number, cell.Id, line, $"compilation failed: {text}", e);
                cell.Outputs.Add(ErrorOutput("CompilationError", text,
                    errors.Select(d => $"line {d.Location.GetLineSpan().StartLinePosition.Line + 1}, column " +
                                       $"{d.Location.GetLineSpan().StartLinePosition.Character + 1}: error {d.Id}: {d.GetMessage(CultureInfo.InvariantCulture)}")));
            }
            catch (Exception e)
            {
                var (line, elsewhere) = LineOf(e, scriptPath, cellOfFile);
                var where = elsewhere is null ? "" : $" (raised in {elsewhere})";
                failure = Describe(file, planned.Number, cell.Id, line, $"{e.GetType().FullName}: {e.Message}{where}", e);
                cell.Outputs.Add(ErrorOutput(e.GetType().Name, e.Message, Traceback(e)));
            }
            finally
            {
                NotebookSession.Current = null;
                session.EndCell();
            }
            var end = DateTime.UtcNow;
            cell.Metadata["execution"] = new JsonObject
            {
                ["iopub.execute_input"] = Timestamp(start),
                ["shell.execute_reply.started"] = Timestamp(start),
                ["shell.execute_reply"] = Timestamp(end),
            };
            options.Progress?.WriteLine(
                $"[{name}] {label} {(failure is null ? "ok" : "FAILED")} {cellClock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
            if (failure is not null)
            {
                result.Failure = failure;
                break;
            }
        }

        foreach (var cell in executed.Cells.Where(c => c.IsCode)) NormalizeOutputs(cell.Outputs);
        executed.Metadata["workbench_run"] = new JsonObject
        {
            ["start_time"] = Timestamp(startedAt),
            ["end_time"] = Timestamp(DateTime.UtcNow),
            ["status"] = result.Succeeded ? "completed" : "failed",
            ["parameters"] = ParametersRecord(options),
            ["runner"] = $"workbench notebook run {typeof(NotebookRunner).Assembly.GetName().Version}",
        };
        result.Elapsed = clock.Elapsed;

        if (target is not null)
        {
            executed.Save(target);
            result.NotebookOutputPath = target;
            if (options.Html)
            {
                var html = Path.ChangeExtension(target, ".html");
                File.WriteAllText(html, HtmlReport.Render(executed, name), new UTF8Encoding(false));
                result.HtmlOutputPath = html;
            }
        }
        return result;
    }

    sealed class CellException(int cell, int? line, string message) : Exception(message)
    {
        public int Cell { get; } = cell;
        public int? Line { get; } = line;
    }

    static IEnumerable<KeyValuePair<string, string>> AllParameters(RunOptions options) =>
        options.Quick ? options.Parameters.Prepend(KeyValuePair.Create("quick", "true")) : options.Parameters;

    /// <summary>The values the run used; a name given twice keeps its last value, as the injected cell does.</summary>
    static JsonObject ParametersRecord(RunOptions options)
    {
        var record = new JsonObject();
        foreach (var (name, value) in AllParameters(options)) record[name] = value;
        return record;
    }

    static void InjectParameters(NotebookDocument executed, List<PlannedCell> plan, RunOptions options, string file)
    {
        var values = AllParameters(options).ToList();
        if (values.Count == 0) return;
        var index = plan.FindIndex(p => p.Cell.Tags.Contains(Parameters.Tag));
        if (index < 0)
            throw new ParameterException(
                $"{file}: {string.Join(", ", values.Select(v => "--param " + v.Key))} given, but no cell is tagged '{Parameters.Tag}'.");
        var parametersCell = plan[index];
        var declared = Parameters.Declared(parametersCell.Code.Code);
        var source = Parameters.BuildInjection(declared, values, file);
        var used = new HashSet<string>(executed.Cells.Select(c => c.Id).OfType<string>());
        var injected = NotebookCell.NewCode(NotebookDocument.NewCellId(used), source, Parameters.InjectedTag);
        var position = executed.Cells.Select(c => c.Json).ToList().IndexOf(parametersCell.Cell.Json);
        executed.InsertCell(position + 1, injected);
        plan.Insert(index + 1, new PlannedCell(0, injected, new PreparedCell(source, [], []), parametersCell.References));
    }

    static CellFailure Describe(string file, int cell, string? id, int? line, string message, Exception? e)
    {
        var where = cell == 0 ? "injected parameters cell" : $"cell {cell}" + (id is null ? "" : $" (id {id})");
        var at = line is null ? "" : $", line {line}";
        return new CellFailure(cell, id, line, $"{file}: {where}{at}: {message}", e);
    }

    /// <summary>The innermost line of the failing cell in the exception's stack, and where the exception was
    /// raised when that was in code from another cell (a function declared earlier).</summary>
    static (int? Line, string? Elsewhere) LineOf(Exception e, string scriptPath, Dictionary<string, PlannedCell> cells)
    {
        int? line = null;
        string? elsewhere = null;
        foreach (var frame in new StackTrace(e, fNeedFileInfo: true).GetFrames())
        {
            var f = frame.GetFileName();
            if (f is null || !cells.TryGetValue(f, out var planned) || frame.GetFileLineNumber() <= 0) continue;
            if (f == scriptPath) { line = frame.GetFileLineNumber(); break; }
            elsewhere ??= (planned.Number == 0 ? "the injected parameters cell" : $"cell {planned.Number}") + $", line {frame.GetFileLineNumber()}";
        }
        return (line, elsewhere);
    }

    static IEnumerable<string> Traceback(Exception e) =>
        e.ToString().Split('\n')
            .Select(l => l.TrimEnd('\r'))
            // The runner's own frames, Roslyn's script plumbing and the await machinery say nothing to the reader.
            .Where(l => !l.Contains("Workbench.Notebooks.") && !l.Contains("Microsoft.CodeAnalysis.Scripting")
                        && !l.Contains("System.Runtime.CompilerServices") && !l.Contains("System.Runtime.ExceptionServices")
                        && !l.Contains("System.Threading.") && !l.Contains("--- End of stack trace"));

    static JsonObject ErrorOutput(string name, string value, IEnumerable<string> traceback) => new()
    {
        ["output_type"] = "error",
        ["ename"] = name,
        ["evalue"] = value,
        ["traceback"] = new JsonArray(traceback.Select(t => (JsonNode?)t).ToArray()),
    };

    /// <summary>True when the cell ends in an expression without a semicolon whose type is not void: its value
    /// is the cell's result, as in the kernel.</summary>
    static bool HasTrailingValue(Script script)
    {
        var compilation = script.GetCompilation();
        var tree = compilation.SyntaxTrees.Last();
        if (tree.GetRoot() is not CompilationUnitSyntax root
            || root.Members.LastOrDefault() is not GlobalStatementSyntax { Statement: ExpressionStatementSyntax statement }
            || !statement.SemicolonToken.IsMissing)
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

    /// <summary>Text outputs as arrays of lines, as Jupyter writes them (images stay one base64 string).</summary>
    static void NormalizeOutputs(JsonArray outputs)
    {
        foreach (var output in outputs.OfType<JsonObject>())
        {
            if (output["text"] is JsonValue text) output["text"] = NotebookDocument.ToMultiline(text.GetValue<string>());
            if (output["data"] is JsonObject data)
                foreach (var mime in data.Select(kv => kv.Key).ToList())
                    if ((mime.StartsWith("text/") || mime == "image/svg+xml") && data[mime] is JsonValue v)
                        data[mime] = NotebookDocument.ToMultiline(v.GetValue<string>());
        }
    }

    static string Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The shared framework's public assemblies, so cells can use any BCL type, as in the kernel.</summary>
    static readonly Lazy<IReadOnlyList<MetadataReference>> FrameworkReferences = new(() =>
    {
        var dir = RuntimeEnvironment.GetRuntimeDirectory();
        var list = new List<MetadataReference> { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) };
        foreach (var dll in Directory.GetFiles(dir, "*.dll"))
        {
            var n = Path.GetFileNameWithoutExtension(dll);
            bool wanted = n is "netstandard" or "mscorlib" or "Microsoft.CSharp" or "Microsoft.Win32.Primitives"
                          || (n.StartsWith("System.", StringComparison.Ordinal) && !n.StartsWith("System.Private.", StringComparison.Ordinal));
            if (!wanted) continue;
            try { AssemblyName.GetAssemblyName(dll); }
            catch (BadImageFormatException) { continue; } // a native library that happens to end in .dll
            list.Add(MetadataReference.CreateFromFile(dll));
        }
        return list;
    });
}
