using Workbench.Cli;

Workbench.Training.NativeAllocator.Apply();   // before the first tensor (see NativeAllocator)
return CliRoot.Run(args);
