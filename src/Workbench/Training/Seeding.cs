using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>One call that makes a CPU run reproducible: libtorch's generators (CPU and CUDA).</summary>
public static class Seeding
{
    /// <summary>Seeds libtorch's global generators. Data loaders and samplers take their own seeds.</summary>
    public static void Set(long seed)
    {
        _ = Devices.Default; // make sure CUDA (if any) is initialised before the first CPU op
        random.manual_seed(seed);
        if (cuda.is_available()) cuda.manual_seed_all(seed);
    }
}
