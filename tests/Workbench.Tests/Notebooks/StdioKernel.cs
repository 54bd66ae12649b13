using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

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
/// (<c>dotnet tool run dotnet-interactive -- stdio</c>, in the notebook's folder), spoken to over its stdio
/// protocol: one JSON kernel command envelope per line on stdin, one JSON event envelope per line on stdout.
/// Needs the local tool manifest (.config/dotnet-tools.json) restored above the working directory.
/// </summary>
internal sealed class StdioKernel : IDisposable
{
    readonly Process _process;
    readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>();
    readonly StringBuilder _stderr = new();
    readonly Task _stdoutPump;
    readonly string _tokenPrefix = "wb" + Guid.NewGuid().ToString("N")[..8];
    int _nextToken;
    bool _disposed;

    /// <summary>From process start to the KernelReady event.</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>Everything the kernel process wrote to its stderr so far (its welcome banner goes there).</summary>
    public string ProcessStandardError { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Lines on stdout that were not JSON event envelopes (there should be none).</summary>
    public List<string> StrayLines { get; } = new();

    StdioKernel(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _stdoutPump = Task.Run(PumpStdoutAsync);
    }

    /// <summary>Starts the kernel in <paramref name="workingDirectory"/> and waits for its KernelReady event.</summary>
    public static async Task<StdioKernel> StartAsync(string workingDirectory, TimeSpan readyTimeout, string defaultKernel = "csharp")
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in new[] { "tool", "run", "dotnet-interactive", "--", "stdio", "--default-kernel", defaultKernel, "--working-dir", workingDirectory })
            info.ArgumentList.Add(a);
        info.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        var clock = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        process.StandardInput.AutoFlush = true;
        process.StandardInput.NewLine = "\n";
        var kernel = new StdioKernel(process);
        try
        {
            using var cts = new CancellationTokenSource(readyTimeout);
            while (true)
            {
                JsonObject envelope;
                try { envelope = await kernel._events.Reader.ReadAsync(cts.Token); }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"the kernel sent no KernelReady within {readyTimeout.TotalSeconds:0} s; its stderr:\n{kernel.ProcessStandardError}");
                }
                catch (ChannelClosedException)
                {
                    await process.WaitForExitAsync();
                    throw new InvalidOperationException($"the kernel exited (code {process.ExitCode}) before KernelReady; its stderr:\n{kernel.ProcessStandardError}");
                }
                if ((string?)envelope["eventType"] == "KernelReady") break;
            }
            kernel.StartupTime = clock.Elapsed;
            return kernel;
        }
        catch
        {
            kernel.Dispose();
            throw;
        }
    }

    async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                JsonObject? envelope = null;
                try { envelope = JsonNode.Parse(line) as JsonObject; } catch (JsonException) { }
                if (envelope?["eventType"] is null) { lock (StrayLines) StrayLines.Add(line); continue; }
                _events.Writer.TryWrite(envelope);
            }
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>The JSON line of a SubmitCode command envelope, as the kernel reads it.</summary>
    public static string SubmitCodeEnvelope(string token, string code, string targetKernelName) => new JsonObject
    {
        ["token"] = token,
        ["commandType"] = "SubmitCode",
        ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = targetKernelName },
    }.ToJsonString();

    /// <summary>Submits <paramref name="code"/> and collects its events until the kernel answers CommandSucceeded or
    /// CommandFailed for this command's token. Events of the command's children (token "T.1", "T.2"…) count as
    /// its own. Gives a failed result, never an exception, on time-out or kernel exit.</summary>
    public async Task<KernelCellResult> SubmitCodeAsync(string label, string code, TimeSpan timeout, string targetKernelName = "csharp")
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // No '.' in a token: the kernel reads "T.n" as the n-th child of command T (it names its own sub-commands
        // so), and a dotted token of ours got its CommandFailed swallowed in an experiment.
        var token = $"{_tokenPrefix}-{++_nextToken}";
        var outputs = new List<KernelOutput>();
        var clock = Stopwatch.StartNew();
        KernelCellResult Result(bool ok, string? failure) => new()
        {
            Label = label, Code = code, Succeeded = ok, Failure = failure, Outputs = outputs, Elapsed = clock.Elapsed,
        };

        try { await _process.StandardInput.WriteLineAsync(SubmitCodeEnvelope(token, code, targetKernelName)); }
        catch (IOException e) { return Result(false, $"could not write to the kernel ({e.Message}); its stderr:\n{ProcessStandardError}"); }

        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            JsonObject envelope;
            try { envelope = await _events.Reader.ReadAsync(cts.Token); }
            catch (OperationCanceledException)
            {
                return Result(false, $"no answer from the kernel within {timeout.TotalSeconds:0} s (timed out); outputs so far:\n"
                    + string.Join("\n", outputs));
            }
            catch (ChannelClosedException)
            {
                _process.WaitForExit(5000);
                var code_ = _process.HasExited ? _process.ExitCode.ToString() : "?";
                return Result(false, $"the kernel exited (code {code_}) before answering; its stderr:\n{ProcessStandardError}");
            }

            var commandToken = (string?)envelope["command"]?["token"];
            if (commandToken is null) continue; // KernelReady and other unsolicited events
            var own = commandToken == token;
            if (!own && !commandToken.StartsWith(token + ".", StringComparison.Ordinal)) continue;

            var type = (string?)envelope["eventType"];
            var ev = envelope["event"] as JsonObject;
            switch (type)
            {
                case "CommandSucceeded" when own:
                    return Result(true, null);
                case "CommandFailed" when own:
                    return Result(false, (string?)ev?["message"] ?? envelope.ToJsonString());
                case "CommandFailed": // a child command failed; its parent normally fails too, but say so either way
                    outputs.Add(new("error", "text/plain", (string?)ev?["message"] ?? ""));
                    break;
                case "DisplayedValueProduced": AddFormatted("display", ev); break;
                case "DisplayedValueUpdated": AddFormatted("update", ev); break;
                case "ReturnValueProduced": AddFormatted("return", ev); break;
                case "StandardOutputValueProduced": AddFormatted("stdout", ev); break;
                case "StandardErrorValueProduced": AddFormatted("stderr", ev); break;
                case "ErrorProduced":
                    outputs.Add(new("error", "text/plain", (string?)ev?["message"] ?? ""));
                    break;
                case "DiagnosticsProduced":   // compiler warnings and errors: Jupyter shows them as stderr boxes
                    if (ev?["diagnostics"] is JsonArray diagnostics)
                        foreach (var d in diagnostics)
                            if (((string?)d?["severity"])?.ToLowerInvariant() is "warning" or "error")
                                outputs.Add(new("diagnostic", "text/plain", $"{(string?)d!["severity"]} {(string?)d["code"]}: {(string?)d["message"]}"));
                    break;
            }
        }

        void AddFormatted(string kind, JsonObject? ev)
        {
            if (ev?["formattedValues"] is not JsonArray values) return;
            foreach (var v in values)
                outputs.Add(new(kind, (string?)v?["mimeType"] ?? "", (string?)v?["value"] ?? "", (string?)ev["valueId"]));
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // already gone
        try { _stdoutPump.Wait(5000); } catch (AggregateException) { }
        _process.Dispose();
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
    public required string KernelStandardError { get; init; }

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
            KernelStandardError = kernel.ProcessStandardError,
        };
    }
}
