using System.CommandLine;
using Workbench.Cli;

var root = new RootCommand("workbench: deep generative models (Glow, StyleGAN2, NVAE) on TorchSharp");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(NotebookCommand.Create());
return root.Parse(args).Invoke();
