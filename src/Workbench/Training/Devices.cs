using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>
/// Chooses the device every model and batch lives on: <c>WORKBENCH_DEVICE=cpu|cuda</c> overrides,
/// otherwise CUDA when available, else the CPU. Resolved once per process, on first use, so that CUDA
/// is initialised before any CPU op (TorchSharp keeps CUDA off for the process otherwise).
/// </summary>
public static class Devices
{
    static readonly Lazy<Device> _default = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The device chosen for this process.</summary>
    public static Device Default => _default.Value;

    /// <summary>True when <see cref="Default"/> is a CUDA device.</summary>
    public static bool IsCuda => Default.type == DeviceType.CUDA;

    /// <summary>The name of the environment variable that overrides the choice.</summary>
    public const string EnvironmentVariable = "WORKBENCH_DEVICE";

    static Device Resolve()
    {
        NativeLibraryCheck.EnsureLoaded();
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant();
        switch (env)
        {
            case null or "":
                return cuda.is_available() ? CUDA : CPU;
            case "cpu":
                return CPU;
            case "cuda":
                if (!cuda.is_available())
                    throw new InvalidOperationException(
                        $"{EnvironmentVariable}=cuda but CUDA is not available: build with -p:TorchBackend=cuda-linux " +
                        "(TorchSharp-cuda-linux) on a machine with an NVIDIA driver, or unset the variable (see environment.md).");
                return CUDA;
            default:
                if (env.StartsWith("cuda:") && int.TryParse(env[5..], out var index))
                    return cuda.is_available() ? new Device(DeviceType.CUDA, index)
                        : throw new InvalidOperationException($"{EnvironmentVariable}={env} but CUDA is not available.");
                throw new ArgumentException($"{EnvironmentVariable}='{env}' is not understood: use cpu, cuda or cuda:N.");
        }
    }

    /// <summary>One line for logs and notebooks: device, libtorch threads and versions.</summary>
    public static string Describe() =>
        $"device {Default} | threads {get_num_threads()} | TorchSharp {typeof(torch).Assembly.GetName().Version} | " +
        $"libtorch {__version__}";
}
