using System.Diagnostics;
using System.Text.Json;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Connection;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Workbench.Tests.Notebooks;

/// <summary>One output of a submitted cell, as the kernel reported it. Kind is one of "display", "update",
/// "return" (formatted values: one output per mime type), "stdout", "stderr", "error" (ErrorProduced, or a
/// failed child command), "diagnostic" (a compiler warning or error the kernel reported).</summary>
internal sealed record KernelOutput(string Kind, string MimeType, string Value, string? ValueId = null)
{
    public override string ToString() => $"{Kind} {MimeType}: {(Value.Length > 300 ? Value[..300] + "…" : Value)}";
}

/// <summary>What happened to one submitted cell.</summary>
internal sealed class KernelCellResult
{
    public required string Label { get; init; }
    public required string Code { get; init; }
    public required bool Succeeded { get; init; }
    /// <summary>CommandFailed's message, or why no answer came (time-out, kernel exit); null on success.</summary>
    public string? Failure { get; init; }
    public required IReadOnlyList<KernelOutput> Outputs { get; init; }
    public required TimeSpan Elapsed { get; init; }

    public IEnumerable<KernelOutput> Errors => Outputs.Where(o => o.Kind is "error" or "stderr" or "diagnostic");
    public IEnumerable<KernelOutput> Formatted => Outputs.Where(o => o.Kind is "display" or "update" or "return");
}

/// <summary>
/// The real .NET Interactive kernel in its own process, started the way VS Code's Polyglot Notebooks starts it
/// (<c>dotnet tool run dotnet-interactive -- stdio</c>, in the notebook's folder) and driven through the library's
/// own client for that protocol, <see cref="StdIoKernelConnector"/>: its proxy kernel sends each command and gathers
/// the remote kernel's events. Needs the local tool manifest (.config/dotnet-tools.json) restored above the working
/// directory.
/// </summary>
internal sealed class StdioKernel : IDisposable
{
    readonly StdIoKernelConnector _connector;
    readonly Kernel _proxy, _root;
    bool _disposed;

    /// <summary>From process start to the proxy kernel's readiness (the remote KernelReady).</summary>
    public TimeSpan StartupTime { get; private set; }

    StdioKernel(StdIoKernelConnector connector, Kernel proxy, Kernel root) { _connector = connector; _proxy = proxy; _root = root; }

    /// <summary>Starts the kernel in <paramref name="workingDirectory"/> and waits until it is ready.</summary>
    public static async Task<StdioKernel> StartAsync(string workingDirectory, TimeSpan readyTimeout, string defaultKernel = "csharp")
    {
        Environment.SetEnvironmentVariable("DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT", "1");
        Environment.SetEnvironmentVariable("DOTNET_CLI_TELEMETRY_OPTOUT", "1");
        Environment.SetEnvironmentVariable("DOTNET_NOLOGO", "1");
        var connector = new StdIoKernelConnector(
            new[] { "dotnet", "tool", "run", "dotnet-interactive", "--", "stdio", "--default-kernel", defaultKernel, "--working-dir", workingDirectory },
            rootProxyKernelLocalName: "remote", kernelHostUri: new Uri("kernel://workbench-tests"), workingDirectory: new DirectoryInfo(workingDirectory));
        var clock = Stopwatch.StartNew();
        var start = connector.CreateRootProxyKernelAsync();
        if (await Task.WhenAny(start, Task.Delay(readyTimeout)) != start)
        {
            connector.Dispose();
            throw new TimeoutException($"the kernel was not ready within {readyTimeout.TotalSeconds:0} s");
        }
        var root = await start;
        // the root proxy stands for the remote composite kernel; code goes to a proxy of its language kernel
        var proxy = await connector.CreateProxyKernelAsync(defaultKernel, defaultKernel);
        return new StdioKernel(connector, proxy, root) { StartupTime = clock.Elapsed };
    }

    /// <summary>Submits <paramref name="code"/> and collects its events until the kernel answers CommandSucceeded or
    /// CommandFailed. Gives a failed result, never an exception, on time-out or kernel exit.</summary>
    public async Task<KernelCellResult> SubmitCodeAsync(string label, string code, TimeSpan timeout, string targetKernelName = "csharp")
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var outputs = new List<KernelOutput>();
        var clock = Stopwatch.StartNew();
        KernelCellResult Result(bool ok, string? failure) => new()
        {
            Label = label, Code = code, Succeeded = ok, Failure = failure, Outputs = outputs, Elapsed = clock.Elapsed,
        };
        var mine = targetKernelName == _proxy.Name;
        var command = mine ? new SubmitCode(code) : new SubmitCode(code, targetKernelName);
        var send = (mine ? _proxy : _root).SendAsync(command, CancellationToken.None);
        if (await Task.WhenAny(send, Task.Delay(timeout)) != send)
            return Result(false, $"no answer from the kernel within {timeout.TotalSeconds:0} s (timed out)");
        KernelCommandResult result;
        try { result = await send; }
        catch (Exception e) { return Result(false, $"the kernel did not answer: {e.Message}"); }
        string? failure = null;
        foreach (var ev in result.Events)
        {
            switch (ev)
            {
                case CommandFailed f when ReferenceEquals(f.Command, command) || f.Command.Equals(command): failure = f.Message; break;
                case CommandFailed f: outputs.Add(new("error", "text/plain", f.Message)); break;   // a child command failed
                case DisplayedValueUpdated u: AddFormatted("update", u.FormattedValues, u.ValueId); break;
                case DisplayedValueProduced d: AddFormatted("display", d.FormattedValues, d.ValueId); break;
                case ReturnValueProduced r: AddFormatted("return", r.FormattedValues, r.ValueId); break;
                case StandardOutputValueProduced o: AddFormatted("stdout", o.FormattedValues, null); break;
                case StandardErrorValueProduced e: AddFormatted("stderr", e.FormattedValues, null); break;
                case ErrorProduced e: outputs.Add(new("error", "text/plain", e.Message)); break;
                case DiagnosticsProduced d:   // compiler warnings and errors: Jupyter shows them as stderr boxes
                    foreach (var diagnostic in d.Diagnostics.Where(x => x.Severity is Microsoft.CodeAnalysis.DiagnosticSeverity.Warning or Microsoft.CodeAnalysis.DiagnosticSeverity.Error))
                        outputs.Add(new("diagnostic", "text/plain", $"{diagnostic.Severity.ToString().ToLowerInvariant()} {diagnostic.Code}: {diagnostic.Message}"));
                    break;
            }
        }
        return result.Events.LastOrDefault() is CommandFailed last ? Result(false, failure ?? last.Message) : Result(true, null);

        void AddFormatted(string kind, IEnumerable<FormattedValue> values, string? valueId)
        {
            foreach (var v in values) outputs.Add(new(kind, v.MimeType, v.Value, valueId));
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _proxy.Dispose();
        _root.Dispose();
        _connector.Dispose();
    }
}

/// <summary>One cell of an .ipynb, as read with System.Text.Json.</summary>
internal sealed record IpynbCell(int Index, string CellType, string Source, IReadOnlyList<string> Tags, string? KernelName)
{
    public static IReadOnlyList<IpynbCell> Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var cells = new List<IpynbCell>();
        var i = 0;
        foreach (var cell in doc.RootElement.GetProperty("cells").EnumerateArray())
        {
            var source = cell.GetProperty("source") is { ValueKind: JsonValueKind.Array } lines
                ? string.Concat(lines.EnumerateArray().Select(l => l.GetString()))
                : cell.GetProperty("source").GetString() ?? "";
            var tags = new List<string>();
            string? kernelName = null;
            if (cell.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
            {
                if (meta.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array)
                    tags.AddRange(t.EnumerateArray().Select(x => x.GetString() ?? ""));
                if (meta.TryGetProperty("polyglot_notebook", out var p) && p.ValueKind == JsonValueKind.Object
                    && p.TryGetProperty("kernelName", out var k))
                    kernelName = k.GetString();
            }
            cells.Add(new(i++, cell.GetProperty("cell_type").GetString() ?? "", source, tags, kernelName));
        }
        return cells;
    }
}

/// <summary>A notebook run through <see cref="StdioKernel"/>.</summary>
internal sealed class StdioNotebookRun
{
    public required string NotebookPath { get; init; }
    public required TimeSpan KernelStartup { get; init; }
    public required TimeSpan Total { get; init; }
    public required IReadOnlyList<KernelCellResult> Cells { get; init; }

    public KernelCellResult? FirstFailure => Cells.FirstOrDefault(c => !c.Succeeded);
    public IEnumerable<KernelOutput> AllOutputs => Cells.SelectMany(c => c.Outputs);

    /// <summary>Runs the code cells of <paramref name="notebookPath"/> in order in a fresh kernel whose working
    /// directory is the notebook's folder, stopping at the first failed cell. Like papermill, when
    /// <paramref name="parameters"/> is not empty a cell assigning them (name = C# expression) is submitted right
    /// after the cell tagged "parameters" (labelled "injected-parameters").</summary>
    public static async Task<StdioNotebookRun> RunAsync(string notebookPath, IReadOnlyDictionary<string, string>? parameters = null,
        TimeSpan? cellTimeout = null, TimeSpan? startTimeout = null)
    {
        notebookPath = Path.GetFullPath(notebookPath);
        var cells = IpynbCell.Load(notebookPath);
        if (parameters is { Count: > 0 } && !cells.Any(c => c.CellType == "code" && c.Tags.Contains("parameters")))
            throw new InvalidOperationException($"{notebookPath} has no code cell tagged \"parameters\" to override");
        var clock = Stopwatch.StartNew();
        using var kernel = await StdioKernel.StartAsync(Path.GetDirectoryName(notebookPath)!, startTimeout ?? TimeSpan.FromMinutes(3));
        var timeout = cellTimeout ?? TimeSpan.FromMinutes(10);
        var results = new List<KernelCellResult>();
        var name = Path.GetFileName(notebookPath);
        foreach (var cell in cells.Where(c => c.CellType == "code"))
        {
            var r = await kernel.SubmitCodeAsync($"{name} cell {cell.Index}", cell.Source, timeout, cell.KernelName ?? "csharp");
            results.Add(r);
            if (!r.Succeeded) break;
            if (parameters is { Count: > 0 } && cell.Tags.Contains("parameters"))
            {
                var code = string.Concat(parameters.Select(p => $"{p.Key} = {p.Value};\n"));
                var injected = await kernel.SubmitCodeAsync($"{name} injected-parameters (after cell {cell.Index})", code, timeout);
                results.Add(injected);
                if (!injected.Succeeded) break;
            }
        }
        return new()
        {
            NotebookPath = notebookPath, KernelStartup = kernel.StartupTime, Total = clock.Elapsed, Cells = results,
        };
    }
}
