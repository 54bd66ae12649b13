using Workbench.Bench;

// `worker --family F [--threads T] [--batch B] [--seed S]`: our side of the worker protocol (bench/README.md).
// Anything else: the driver, which pairs our worker with the PyTorch replica of each family.
return args.Length > 0 && args[0] == "worker"
    ? Worker.Run(args[1..])
    : Driver.Run(args);
