using Workbench.Cli;

return CliRoot.Run(args);
