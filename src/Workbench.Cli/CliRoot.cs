using System.CommandLine;

namespace Workbench.Cli;

/// <summary>The <c>workbench</c> command tree (also what the tests invoke).</summary>
public static class CliRoot
{
    /// <summary>
    /// <c>--threads</c> of info, train, sample and eval: libtorch's intra-op threads, applied before the command runs
    /// (<see cref="Workbench.Training.Devices.ConfigureThreads"/>). A sweep has its own per-point <c>--threads</c>.
    /// </summary>
    static Option<int?> ThreadsOption() => NumberOption.Int("--threads",
        $"libtorch intra-op threads (default: OMP_NUM_THREADS when set, else half the cores, at least 1: {Workbench.Training.Devices.DefaultThreads} here).");

    static readonly string[] ThreadedCommands = { "info", "train", "sample", "eval", "gan-toy" };

    public static RootCommand Build()
    {
        var verbose = new Option<bool>("--verbose") { Description = "Show stack traces with errors.", Recursive = true };
        var root = new RootCommand("workbench: deep generative models (Glow, StyleGAN2, NVAE) on TorchSharp") { verbose };
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(NotebookCommand.Create());
        root.Subcommands.Add(TrainCommand.Create(verbose));
        root.Subcommands.Add(SampleCommand.Create(verbose));
        root.Subcommands.Add(EvalCommand.Create(verbose));
        root.Subcommands.Add(SweepCommand.Create(verbose));
        root.Subcommands.Add(ZooCommand.Create(verbose));
        root.Subcommands.Add(ImportCommand.Create(verbose));
        root.Subcommands.Add(ExportCommand.Create(verbose));
        root.Subcommands.Add(GanToyCommand.Create());
        foreach (var command in root.Subcommands.Where(c => ThreadedCommands.Contains(c.Name)))
            command.Options.Add(ThreadsOption());
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. A line that does not parse (unknown option, a value of the wrong type, a
    /// missing argument) prints one <c>error:</c> line per problem and a pointer to <c>--help</c>, exit code 2.
    /// </summary>
    public static int Run(string[] args)
    {
        var parsed = Build().Parse(args);
        if (parsed.Errors.Count == 0) return ApplyThreads(parsed) ?? parsed.Invoke();
        foreach (var e in parsed.Errors) Console.Error.WriteLine($"error: {e.Message}");
        var command = string.Join(" ", parsed.CommandResult.Command is RootCommand ? Array.Empty<string>()
            : new[] { parsed.CommandResult.Command.Name });
        Console.Error.WriteLine($"(see `workbench {command}{(command.Length > 0 ? " " : "")}--help`)");
        return 2;
    }

    /// <summary>Applies <c>--threads</c> (or the default rule) before a command that has it; an exit code when it cannot.</summary>
    static int? ApplyThreads(ParseResult parsed)
    {
        var invoked = parsed.CommandResult.Command;
        if (!ThreadedCommands.Contains(invoked.Name) || invoked.Options.OfType<Option<int?>>().FirstOrDefault(o => o.Name == "--threads") is not { } option)
            return null;
        var threads = parsed.GetValue(option);
        if (threads is < 1)
        {
            Console.Error.WriteLine($"error: --threads {threads}: must be at least 1.");
            return 2;
        }
        try { Workbench.Training.Devices.ConfigureThreads(threads); }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        return null;
    }
}

/// <summary>
/// Options whose values are numbers, parsed in invariant culture with a message that names the option and the
/// expected kind of number (System.CommandLine's own message names the .NET type).
/// </summary>
public static class NumberOption
{
    public static Option<long?> Long(string name, string description) => Make<long>(name, description, "a whole number",
        s => long.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null);

    public static Option<int?> Int(string name, string description) => Make<int>(name, description, "a whole number",
        s => int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null);

    public static Option<double?> Double(string name, string description) => Make<double>(name, description, "a number",
        s => double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null);

    static Option<T?> Make<T>(string name, string description, string kind, Func<string, T?> parse) where T : struct =>
        new(name)
        {
            Description = description,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (parse(text) is T value) return value;
                result.AddError($"{name} '{text}': expected {kind}");
                return null;
            },
        };
}
