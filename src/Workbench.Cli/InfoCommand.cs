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
            Console.WriteLine($"threads      {get_num_threads()}");
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                torchsharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
                libtorch = __version__,
                device = device.ToString(),
                threads = get_num_threads(),
            }));
            return 0;
        });
        return cmd;
    }
}
