using System.CommandLine;

namespace Workbench.Cli;

/// <summary>The <c>workbench</c> command tree (also what the tests invoke).</summary>
public static class CliRoot
{
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
        return root;
    }
}
