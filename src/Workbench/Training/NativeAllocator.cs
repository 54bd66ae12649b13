using System.Runtime.InteropServices;

namespace Workbench.Training;

/// <summary>
/// Keeps glibc from handing libtorch's freed tensor memory back to the kernel after every step. With glibc's
/// defaults every activation above the (dynamic) mmap threshold is a fresh mmap whose pages are zero-filled on
/// first touch and unmapped on free, and the heap top is trimmed on every free: a training step then spends much
/// of its time in page faults. Before any tensor exists this sets, through <c>mallopt</c>:
/// M_MMAP_THRESHOLD 32 MiB (smaller blocks come from the reusable heap), M_TRIM_THRESHOLD 1 GiB and M_TOP_PAD
/// 256 MiB (freed memory stays with the process for the next step). A library does not change its host's allocator
/// on load: the executables call <see cref="Apply"/> first thing (workbench, the benchmark, the test host), and the
/// notebooks in their first cell. Nothing is changed on other C libraries or operating systems, when
/// any <c>MALLOC_*_</c> variable is set (glibc has already applied the user's choice), or with
/// <c>WORKBENCH_MALLOC=default</c>. papers/performance.md has the measurement.
/// </summary>
public static class NativeAllocator
{
    /// <summary>The mallopt parameters (glibc's malloc.h) and the values set.</summary>
    public const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3;
    public const int MmapThreshold = 32 << 20, TrimThreshold = 1 << 30, TopPad = 256 << 20;

    /// <summary>The environment variable that, set to <c>default</c>, leaves glibc's settings alone.</summary>
    public const string EnvironmentVariable = "WORKBENCH_MALLOC";

    /// <summary>True when this process runs with the settings above.</summary>
    public static bool Tuned { get; private set; }

    /// <summary>Why the settings were not applied, when they were not.</summary>
    public static string? SkippedBecause { get; private set; }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);

    /// <summary>Applies the settings (idempotent; before the first tensor for the full effect); returns whether they are in effect.</summary>
    public static bool Apply()
    {
        if (Tuned) return true;
        SkippedBecause = Reason();
        if (SkippedBecause is not null) return false;
        try
        {
            Tuned = mallopt(M_MMAP_THRESHOLD, MmapThreshold) == 1
                  & mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1
                  & mallopt(M_TOP_PAD, TopPad) == 1;
            if (!Tuned) SkippedBecause = "mallopt refused a setting";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            SkippedBecause = "no mallopt in this C library";
        }
        return Tuned;
    }

    static string? Reason()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "default", StringComparison.OrdinalIgnoreCase))
            return $"{EnvironmentVariable}=default";
        var user = new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_" }
            .FirstOrDefault(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));
        return user is null ? null : $"{user} is set";
    }

    /// <summary>One line for logs: what the allocator runs with.</summary>
    public static string Describe() => Tuned ? "malloc tuned (mmap 32 MiB, trim 1 GiB, top pad 256 MiB)" : $"malloc default ({SkippedBecause})";
}
