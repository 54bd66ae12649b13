using System.Text.Json;
using Spectre.Console;
using Workbench.Data;
using Workbench.Training;

namespace Workbench.Cli;

/// <summary>
/// How every command talks: progress on stderr (a Spectre.Console bar on a terminal, plain lines when redirected),
/// one JSON line of results on stdout at the end, and errors as one message with exit code 2 (a stack trace only
/// with --verbose).
/// </summary>
public static class CliOutput
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>True when stderr is a terminal, so a live progress bar makes sense.</summary>
    public static bool Interactive => !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// The closing JSON line (snake_case field names). JSON has no NaN or infinity: such a value is written as null,
    /// with a warning on stderr naming the field.
    /// </summary>
    public static void WriteResult(object result)
    {
        if (result is IDictionary<string, object?> fields)
        {
            var finite = new Dictionary<string, object?>(fields.Count);
            foreach (var (k, v) in fields)
            {
                bool bad = v is double d && !double.IsFinite(d) || v is float f && !float.IsFinite(f);
                if (bad) Console.Error.WriteLine($"warning: {k} is {v}; written as null in the JSON result");
                finite[k] = bad ? null : v;
            }
            result = finite;
        }
        Console.Out.WriteLine(JsonSerializer.Serialize(result, Json));
    }

    /// <summary>Runs a command body, turning known failures into a clear message and exit code 2.</summary>
    public static int Guard(bool verbose, Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (Known(e) is string message)
        {
            Console.Error.WriteLine($"error: {message}");
            if (verbose) Console.Error.WriteLine(e);
            return 2;
        }
    }

    static string? Known(Exception e) => e switch
    {
        UsageException or DatasetNotFoundException or DatasetDownloadException or ArgumentException or InvalidDataException
            or TrainingDivergedException or RunFailedException or CheckpointMismatchException => e.Message,
        // File-system failures (missing files, permissions, read-only mounts, a full disk): .NET's messages name the path.
        UnauthorizedAccessException => $"{e.Message} (no permission, or a read-only file system)",
        IOException when e.HResult == 28 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) =>
            $"disk full: {e.Message} (files are written whole or not at all: a run's previous checkpoint is intact, an output left as it was; free space and run again, a training run with --resume)",
        IOException => e.Message,
        _ when e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) =>
            $"out of memory on {Devices.Default}: {e.Message.Split('\n')[0]} — try a smaller --batch (e.g. half the current one).",
        _ => null,
    };
}

/// <summary>A run that stopped for a reason the message explains (a divergence, with how to continue).</summary>
public sealed class RunFailedException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Step progress for long work: on a terminal a Spectre.Console bar (step, rate, ETA, latest metrics), otherwise a
/// plain line on stderr about every 2% of the run. The body reports <c>(step, metrics)</c> as it goes.
/// </summary>
public static class StepProgress
{
    public delegate void Reporter(long step, IReadOnlyDictionary<string, double>? metrics = null);

    public static void Run(string what, long total, long start, Action<Reporter> body)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string Describe(long step, IReadOnlyDictionary<string, double>? m)
        {
            double rate = (step - start) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            var eta = rate > 0 ? TimeSpan.FromSeconds((total - step) / rate) : TimeSpan.Zero;
            var metrics = m is null ? "" : " " + string.Join(" ", m.Select(kv => $"{kv.Key}={kv.Value:G4}"));
            return $"{what} {step}/{total} {rate:F2} it/s ETA {eta:hh\\:mm\\:ss}{metrics}";
        }

        if (!CliOutput.Interactive)
        {
            long every = Math.Max(1, total / 50);
            long? lastPrinted = null;   // (long.MinValue would overflow step − lastPrinted and never print)
            body((step, m) =>
            {
                if (lastPrinted is long last && step - last < every && step < total) return;
                lastPrinted = step;
                Console.Error.WriteLine(Describe(step, m));
            });
            return;
        }
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(what, maxValue: total);
                task.Value = start;
                body((step, m) =>
                {
                    task.Value = step;
                    task.Description = Markup.Escape(Describe(step, m));
                });
            });
    }
}
