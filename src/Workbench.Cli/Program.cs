using Workbench.Cli;

Workbench.Training.NativeAllocator.PreferTcmalloc();   // restarts once with tcmalloc where the machine has it (see NativeAllocator)
Workbench.Training.NativeAllocator.Apply();            // glibc's settings otherwise; before the first tensor
return CliRoot.Run(args);
