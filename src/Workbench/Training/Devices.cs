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

    /// <summary>One line for logs and notebooks: device, libtorch threads, allocator and versions.</summary>
    public static string Describe() =>
        $"device {Default} | threads {get_num_threads()} | {NativeAllocator.Describe()} | TorchSharp {typeof(torch).Assembly.GetName().Version} | " +
        $"libtorch {__version__}";

    /// <summary>
    /// libtorch's intra-op threads when none are asked for: half the logical cores, at least one. A CPU step of the
    /// Small presets gains little from a second thread, and loses several-fold when another process holds a core
    /// (papers/performance.md); half the logical cores is also one thread per physical core on SMT machines.
    /// </summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>
    /// Sets libtorch's intra-op threads: <paramref name="threads"/> when positive; otherwise leaves OMP_NUM_THREADS's
    /// choice when that variable is set (a sweep sets it per point) and else uses <see cref="DefaultThreads"/>.
    /// Returns the count in effect.
    /// </summary>
    public static int ConfigureThreads(int? threads = null)
    {
        if (threads is < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads: must be 1 or more (0 or none: the default).");
        NativeLibraryCheck.EnsureLoaded();
        if (threads is > 0) set_num_threads(threads.Value);
        else if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"))) set_num_threads(DefaultThreads);
        return get_num_threads();
    }
}
