using System.CommandLine;
using System.Text.Json;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Cli;

/// <summary><c>workbench info</c>: TorchSharp and libtorch versions, device, threads, datasets found.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Print TorchSharp/libtorch versions, the device, threads and the datasets found.");
        cmd.SetAction(_ =>
        {
            var device = Devices.Default;
            Console.WriteLine($"TorchSharp   {typeof(TorchSharp.torch).Assembly.GetName().Version}");
            Console.WriteLine($"libtorch     {__version__}");
            Console.WriteLine($"device       {device} (override with {Devices.EnvironmentVariable}=cpu|cuda)");
            Console.WriteLine($"cuda         {(cuda.is_available() ? $"available, {cuda.device_count()} device(s)" : "not available")}");
            Console.WriteLine($"threads      {get_num_threads()} (--threads N; default {Devices.DefaultThreads}: half the cores, or OMP_NUM_THREADS)");
            Console.WriteLine($"allocator    {NativeAllocator.Describe()}" + (NativeAllocator.TcmallocLoaded || NativeAllocator.FindTcmalloc() is not null ? ""
                : " (with tcmalloc, apt-get install libtcmalloc-minimal4, training steps need less memory: papers/performance.md)"));
            var datasets = new Dictionary<string, string>();
            foreach (var name in Workbench.Data.Datasets.Names.Order())
            {
                // The generated sets need no files; the others are found where the resolver looks (no download here).
                string? Found(string set) => Workbench.Data.DatasetResolver.SearchPath(set).FirstOrDefault(d => Directory.Exists(d) && Directory.EnumerateFileSystemEntries(d).Any());
                var where = name.StartsWith("faces") ? "generated (procedural faces)"
                    : name == "fashion-mnist-32" ? (Found("fashion-mnist") is { } f ? $"padded from {f}" : "not found (padded from fashion-mnist)")
                    : Found(name) ?? "not found";
                datasets[name] = where;
                Console.WriteLine($"dataset      {name,-14} {where}");
            }
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                torchsharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
                libtorch = __version__,
                device = device.ToString(),
                threads = get_num_threads(),
                malloc_tuned = NativeAllocator.Tuned,
                tcmalloc = NativeAllocator.TcmallocLoaded,
                datasets,
            }));
            return 0;
        });
        return cmd;
    }
}
