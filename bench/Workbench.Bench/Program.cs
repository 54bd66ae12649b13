using System.CommandLine;
using Workbench.Bench;

// The driver (default): pairs our worker with the PyTorch replica of each family. `worker`: our side of the worker
// protocol (bench/README.md).
// our worker runs with the allocator workbench runs with (see NativeAllocator): tcmalloc where the machine has it, else
// glibc with its settings; the driver itself does not restart, so the PyTorch worker it starts keeps glibc, as PyTorch runs
if (args.Length > 0 && args[0] == "worker") Workbench.Training.NativeAllocator.PreferTcmalloc();
Workbench.Training.NativeAllocator.Apply();
var defaults = new Driver.Options();
var families = new Option<string>("--families") { Description = "Comma-separated families.", DefaultValueFactory = _ => string.Join(",", defaults.Families) };
var pairs = new Option<int>("--pairs") { Description = "Alternating pairs of `step K`.", DefaultValueFactory = _ => defaults.Pairs };
var steps = new Option<int>("--steps") { Description = "Training steps per timed command (K).", DefaultValueFactory = _ => defaults.Steps };
var samplePairs = new Option<int>("--sample-pairs") { Description = "Alternating pairs of `sample N` (0: none).", DefaultValueFactory = _ => defaults.SamplePairs };
var sampleN = new Option<int>("--sample-n") { Description = "Images per sampling command.", DefaultValueFactory = _ => defaults.SampleN };
var ancestralPairs = new Option<int>("--ancestral-pairs") { Description = "Alternating pairs of `sample N ancestral` (diffusion's DDPM sampler; 0: none).", DefaultValueFactory = _ => defaults.AncestralPairs };
var ancestralN = new Option<int>("--ancestral-n") { Description = "Images per ancestral sampling command (T network evaluations each).", DefaultValueFactory = _ => defaults.AncestralN };
var threadCounts = new Option<string>("--threads") { Description = "libtorch intra-op threads on both sides; a comma-separated list (1,2,4,8,16) runs the whole benchmark at each count, one table each.", DefaultValueFactory = _ => defaults.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture) };
var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads.", DefaultValueFactory = _ => defaults.Threads };
var batch = new Option<int>("--batch") { Description = "Training batch size.", DefaultValueFactory = _ => defaults.Batch };
var seed = new Option<long>("--seed") { Description = "Seed of the fixed batch and the weights.", DefaultValueFactory = _ => defaults.Seed };
var python = new Option<string>("--python") { Description = "The Python with torch.", DefaultValueFactory = _ => defaults.Python };
var torchLib = new Option<string?>("--torch-lib") { Description = "A folder put first on the PyTorch worker's LD_LIBRARY_PATH (e.g. OpenBLAS's libblas.so.3)." };
var oursEnv = new Option<string[]>("--ours-env") { Description = "NAME=VALUE added to our worker's environment (repeatable)." };
var torchEnv = new Option<string[]>("--torch-env") { Description = "NAME=VALUE added to the PyTorch worker's environment (repeatable)." };
var output = new Option<string?>("--out") { Description = "CSV of every pair." };

var root = new RootCommand("Workbench benchmark: one training step and sampling of the Small presets, ours vs PyTorch (bench/README.md)")
{
    families, pairs, steps, samplePairs, sampleN, ancestralPairs, ancestralN, threadCounts, batch, seed, python, torchLib, oursEnv, torchEnv, output,
};
root.SetAction(p => Driver.RunAtThreadCounts(new Driver.Options
{
    Families = p.GetValue(families)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    Pairs = p.GetValue(pairs), Steps = p.GetValue(steps), SamplePairs = p.GetValue(samplePairs), SampleN = p.GetValue(sampleN),
    AncestralPairs = p.GetValue(ancestralPairs), AncestralN = p.GetValue(ancestralN),
    Batch = p.GetValue(batch), Seed = p.GetValue(seed), Python = p.GetValue(python)!,
    TorchLib = p.GetValue(torchLib) is { } lib ? Path.GetFullPath(lib) : null,
    OursEnv = Driver.ParseEnvironment(p.GetValue(oursEnv) ?? []), TorchEnv = Driver.ParseEnvironment(p.GetValue(torchEnv) ?? []), Out = p.GetValue(output),
}, p.GetValue(threadCounts)!));

var family = new Option<string>("--family") { Description = "glow, nvae, vae, stylegan2 or diffusion.", Required = true };
var worker = new Command("worker", "Our side of the worker protocol: build the family, then answer step/sample [mode]/flops/gemm/quit on stdin.")
{
    family, threads, batch, seed,
};
worker.SetAction(p => Worker.Run(p.GetValue(family)!, p.GetValue(threads), p.GetValue(batch), p.GetValue(seed)));
root.Subcommands.Add(worker);

var parsed = root.Parse(args);
if (parsed.Errors.Count == 0) return parsed.Invoke();
foreach (var e in parsed.Errors) Console.Error.WriteLine($"error: {e.Message}");
return 2;
