using System.CommandLine;
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

        var run = new Command("run", "Run notebooks headless, top to bottom, and write the executed copies.");
        run.Arguments.Add(files);
        run.Options.Add(param);
        run.Options.Add(quick);
        run.Options.Add(output);
        run.Options.Add(html);
        run.SetAction(parseResult =>
        {
            List<KeyValuePair<string, string>> parameters;
            try { parameters = (parseResult.GetValue(param) ?? []).Select(Parameters.ParseAssignment).ToList(); }
            catch (ParameterException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            var options = new RunOptions
            {
                Parameters = parameters,
                Quick = parseResult.GetValue(quick),
                OutputDirectory = parseResult.GetValue(output),
                Html = parseResult.GetValue(html),
                Progress = Console.Error,
            };
            int failed = 0;
            // Each notebook runs even when an earlier one failed, so one run reports every broken notebook.
            foreach (var file in parseResult.GetValue(files) ?? [])
            {
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
                    Console.Error.WriteLine($"{file}: ran in {result.Elapsed.TotalSeconds:0.0} s -> {result.NotebookOutputPath}" +
                                            (result.HtmlOutputPath is null ? "" : $", {result.HtmlOutputPath}"));
                else
                {
                    failed++;
                    Console.Error.WriteLine($"error: {result.Failure!.Message}");
                    if (result.NotebookOutputPath is not null)
                        Console.Error.WriteLine($"  partial executed notebook: {result.NotebookOutputPath}");
                }
            }
            return failed == 0 ? 0 : 1;
        });

        var notebook = new Command("notebook", "Work with the notebooks (run them headless).");
        notebook.Subcommands.Add(run);
        return notebook;
    }
}
