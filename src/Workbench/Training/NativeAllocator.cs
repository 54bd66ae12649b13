using System.Runtime.InteropServices;
using System.Text;

namespace Workbench.Training;

/// <summary>
/// The C allocator libtorch's tensors come from, chosen for training speed and peak memory.
/// <para>
/// <b>tcmalloc when the machine has it</b> (gperftools' thread-caching malloc, Debian's <c>libtcmalloc-minimal4</c>):
/// its size-class free lists reuse an activation's pages in the next step without returning them to the kernel and
/// without fragmenting one heap, so a step is neither slowed by page faults nor left holding memory it no longer
/// needs. The executables call <see cref="PreferTcmalloc"/> as their first line; it restarts the process once with
/// the library in <c>LD_PRELOAD</c> (an allocator can only be replaced before the first allocation). Notebook kernels
/// are started by VS Code or Jupyter and keep glibc's allocator with the settings below.
/// </para>
/// <para>
/// <b>glibc otherwise</b>: with its defaults every activation above the (dynamic) mmap threshold is a fresh mmap whose
/// pages are zero-filled on first touch and unmapped on free, and the heap top is trimmed on every free, so a step
/// spends much of its time in page faults. <see cref="Apply"/> sets, through <c>mallopt</c>, M_MMAP_THRESHOLD 32 MiB
/// (smaller blocks come from the reusable heap), M_TRIM_THRESHOLD 1 GiB and M_TOP_PAD 256 MiB (freed memory stays
/// with the process for the next step): fast, at the price of a heap that fragments (a higher peak RSS than the
/// tensors alive at any moment need). The executables call it first thing (workbench, the benchmark, the test host),
/// and the notebooks in their first cell. A library does not change its host's allocator on load.
/// </para>
/// <para>
/// <c>WORKBENCH_MALLOC</c>: unset or <c>auto</c>, as above; <c>glibc</c>, glibc with the settings (no restart);
/// <c>default</c>, glibc untouched. Any <c>MALLOC_*_</c> variable also leaves glibc's settings to the user;
/// <c>WORKBENCH_TCMALLOC</c> names the library file where it is not in a standard folder. papers/performance.md has
/// the measurements.
/// </para>
/// </summary>
public static class NativeAllocator
{
    /// <summary>The mallopt parameters (glibc's malloc.h) and the values set.</summary>
    public const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3;
    public const int MmapThreshold = 32 << 20, TrimThreshold = 1 << 30, TopPad = 256 << 20;

    /// <summary>The environment variable that chooses the allocator: auto (default), glibc or default.</summary>
    public const string EnvironmentVariable = "WORKBENCH_MALLOC";

    /// <summary>The environment variable naming tcmalloc's library file.</summary>
    public const string TcmallocVariable = "WORKBENCH_TCMALLOC";

    /// <summary>Set on the restart, so that a library that did not load is not tried again (nor in child processes).</summary>
    public const string RestartedVariable = "WORKBENCH_TCMALLOC_TRIED";

    /// <summary>tcmalloc's library names, looked for in <see cref="LibraryFolders"/>.</summary>
    public static readonly string[] TcmallocNames = { "libtcmalloc_minimal.so.4", "libtcmalloc.so.4" };

    static readonly string[] LibraryFolders =
        { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib" };

    /// <summary>True when this process runs with glibc's settings above.</summary>
    public static bool Tuned { get; private set; }

    /// <summary>Why glibc's settings were not applied, when they were not.</summary>
    public static string? SkippedBecause { get; private set; }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    static extern int execve(string path, string?[] argv, string?[] envp);

    static string Mode => (Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "auto").Trim().ToLowerInvariant();

    /// <summary>True when tcmalloc is this process's allocator (its library is mapped). Read once: a preloaded
    /// allocator is there from the process's start or not at all.</summary>
    public static bool TcmallocLoaded => tcmallocLoaded.Value;

    static readonly Lazy<bool> tcmallocLoaded = new(() =>
        OperatingSystem.IsLinux() && File.Exists("/proc/self/maps") && File.ReadLines("/proc/self/maps").Any(l => l.Contains("libtcmalloc")));

    /// <summary>The allocator in one word, for logs and the benchmark's protocol: tcmalloc, glibc-tuned or glibc.</summary>
    public static string Kind => TcmallocLoaded ? "tcmalloc" : Tuned ? "glibc-tuned" : "glibc";

    /// <summary>tcmalloc's library file: <c>WORKBENCH_TCMALLOC</c>, else the first of <see cref="TcmallocNames"/> in a
    /// standard library folder; null when there is none.</summary>
    public static string? FindTcmalloc()
    {
        if (Environment.GetEnvironmentVariable(TcmallocVariable) is { Length: > 0 } given)
            return File.Exists(given) ? Path.GetFullPath(given) : null;
        foreach (var folder in LibraryFolders)
            foreach (var name in TcmallocNames)
                if (File.Exists(Path.Combine(folder, name))) return Path.Combine(folder, name);
        return null;
    }

    /// <summary>
    /// For an executable's first line, before any tensor and before reading its input: restarts the process (same
    /// executable, arguments, environment, open files and process id, through <c>execve</c>) with tcmalloc in
    /// <c>LD_PRELOAD</c> when <c>WORKBENCH_MALLOC</c> allows it, the library is found and not loaded yet, and no
    /// restart was tried before. Returns (without restarting) otherwise, or when the restart fails.
    /// </summary>
    public static void PreferTcmalloc()
    {
        if (!OperatingSystem.IsLinux() || Mode != "auto") return;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RestartedVariable)) || TcmallocLoaded) return;
        if (FindTcmalloc() is not string library) return;
        string[] argv;
        try { argv = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (IOException) { return; }
        if (argv.Length == 0) return;
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        environment["LD_PRELOAD"] = environment.TryGetValue("LD_PRELOAD", out var preload) && preload.Length > 0 ? library + ":" + preload : library;
        environment[RestartedVariable] = "1";
        Console.Out.Flush();
        Console.Error.Flush();
        execve("/proc/self/exe", argv.Append(null).ToArray(), environment.Select(e => $"{e.Key}={e.Value}").Append(null).ToArray());
        // only reached when execve failed: go on with glibc
    }

    /// <summary>Applies glibc's settings (idempotent; before the first tensor for the full effect); returns whether they
    /// are in effect. Nothing to do under tcmalloc.</summary>
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
        if (TcmallocLoaded) return "tcmalloc is the allocator";
        if (Mode == "default") return $"{EnvironmentVariable}=default";
        var user = new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_" }
            .FirstOrDefault(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));
        return user is null ? null : $"{user} is set";
    }

    /// <summary>One line for logs: what the allocator runs with.</summary>
    public static string Describe() =>
        TcmallocLoaded ? "tcmalloc"
        : Tuned ? "malloc tuned (mmap 32 MiB, trim 1 GiB, top pad 256 MiB)"
        : $"malloc default ({SkippedBecause})";
}
