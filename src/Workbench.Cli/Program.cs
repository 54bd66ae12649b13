using Workbench.Cli;

return CliRoot.Build().Parse(args).Invoke();
