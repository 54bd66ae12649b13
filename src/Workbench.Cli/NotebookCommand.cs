using System.CommandLine;
using System.Runtime.InteropServices;
using Workbench.Notebooks;

namespace Workbench.Cli;

/// <summary><c>workbench notebook run &lt;file.ipynb&gt;... [--param name=value]... [--quick] [--output dir] [--html]</c>.</summary>
public static class NotebookCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("notebooks")
        {
            Description = "The .ipynb files to run, in order.",
            Arity = ArgumentArity.OneOrMore,
        };
        var param = new Option<string[]>("--param", "-p")
        {
            Description = "Set a knob of the cell tagged 'parameters': name=value (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var quick = new Option<bool>("--quick") { Description = "Smoke-test size: the same as --param quick=true." };
        var output = new Option<string>("--output", "-o")
        {
            Description = "Folder for the executed notebooks (and reports).",
            DefaultValueFactory = _ => Path.Combine("notebooks", ".out"),
        };
        var html = new Option<bool>("--html") { Description = "Also write a standalone HTML report (plotly.js embedded, opens offline)." };
        var timeout = new Option<double?>("--timeout")
        {
            Description = "The longest one cell may run, in seconds (default: no limit). A cell that runs longer fails the notebook.",
        };

        var run = new Command("run", "Run notebooks headless, top to bottom, and write the executed copies. Exit code 0 when every notebook ran, 1 when a cell failed or timed out, 2 for bad input (a notebook that cannot be read, a parameter it does not declare), 130 when interrupted (SIGTERM, Ctrl-C; the partial executed notebook is written).");
        run.Arguments.Add(files);
        run.Options.Add(param);
        run.Options.Add(quick);
        run.Options.Add(output);
        run.Options.Add(html);
        run.Options.Add(timeout);
        run.SetAction(parseResult =>
        {
            var paths = parseResult.GetValue(files) ?? [];
            foreach (var path in paths)
            {
                string? problem = Directory.Exists(path) ? "is a folder; name the notebooks in it (e.g. notebooks/*.ipynb)"
                    : !File.Exists(path) ? "no such file"
                    : null;
                if (problem is null) continue;
                Console.Error.WriteLine($"error: {path}: {problem}");
                return 2;
            }
            if (parseResult.GetValue(timeout) is { } limit && !(limit > 0))
            {
                Console.Error.WriteLine($"error: --timeout {limit}: must be a positive number of seconds");
                return 2;
            }
            List<KeyValuePair<string, string>> parameters;
            try { parameters = (parseResult.GetValue(param) ?? []).Select(Parameters.ParseAssignment).ToList(); }
            catch (ParameterException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            // SIGTERM and Ctrl-C stop the running cell; the partial executed notebook is still written.
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            var options = new RunOptions
            {
                CellTimeout = parseResult.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                Cancellation = stop.Token,
                Parameters = parameters,
                Quick = parseResult.GetValue(quick),
                OutputDirectory = parseResult.GetValue(output),
                Html = parseResult.GetValue(html),
                Progress = Console.Error,
            };
            int failed = 0, badInput = 0;
            // Each notebook runs even when an earlier one failed, so one run reports every broken notebook.
            foreach (var file in paths)
            {
                if (stop.IsCancellationRequested) break;
                RunResult result;
                try { result = NotebookRunner.RunAsync(file, options).GetAwaiter().GetResult(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Writing the executed copy or the report failed.
                    failed++;
                    Console.Error.WriteLine($"error: {file}: {e.Message}");
                    continue;
                }
                if (result.Succeeded)
                {
                    Console.Error.WriteLine($"{file}: ran in {result.Elapsed.TotalSeconds:0.0} s -> {result.NotebookOutputPath}" +
                                            (result.HtmlOutputPath is null ? "" : $", {result.HtmlOutputPath}"));
                    if (result.HtmlOutputPath is not null && Katex.Find() is null && HtmlReport.HasMath(File.ReadAllText(result.HtmlOutputPath)))
                        Console.Error.WriteLine($"note: {result.HtmlOutputPath}: {HtmlReport.MathNote}");
                }
                else
                {
                    failed++;
                    if (result.BadInput) badInput++;
                    Console.Error.WriteLine($"error: {result.Failure!.Message}");
                    if (result.NotebookOutputPath is not null)
                        Console.Error.WriteLine($"  partial executed notebook: {result.NotebookOutputPath}");
                }
            }
            Console.CancelKeyPress -= onCancel;
            if (stop.IsCancellationRequested) return 130;
            return failed == 0 ? 0 : badInput == failed ? 2 : 1;   // 2: bad input only (no notebook ran and failed)
        });

        var notebook = new Command("notebook", "Work with the notebooks (run them headless).");
        notebook.Subcommands.Add(run);
        return notebook;
    }
}
