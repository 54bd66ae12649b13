using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>
/// The allocator settings and the per-layer dispose scopes of flows: glibc keeps freed memory for the next step,
/// a flow's forward pass leaves only its outputs alive on this thread, and resident memory stays flat over 1,000
/// training steps with the allocator settings in effect.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class NativeMemoryTests
{
    [Fact]
    public void AllocatorIsTunedInThisProcessOnLinux()
    {
        if (!OperatingSystem.IsLinux()) return;
        // on glibc (this machine and CI) the test host's initializer has applied the settings; elsewhere it says why not
        Assert.True(NativeAllocator.Tuned || NativeAllocator.SkippedBecause is not null);
        if (NativeAllocator.SkippedBecause is string why) Assert.Contains("MALLOC_", why + Environment.GetEnvironmentVariable("WORKBENCH_MALLOC"));
        Assert.True(NativeAllocator.Apply() == NativeAllocator.Tuned);
    }

    /// <summary>Loading Workbench.dll leaves the host's allocator alone: no module initializer of the library calls it.</summary>
    [Fact]
    public void TheLibraryDoesNotTuneItsHostsAllocatorOnLoad()
    {
        var initializers = typeof(NativeAllocator).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
            .Where(m => m.IsDefined(typeof(System.Runtime.CompilerServices.ModuleInitializerAttribute), false)).ToList();
        Assert.DoesNotContain(initializers, m => m.DeclaringType == typeof(NativeAllocator));
        Assert.All(initializers, m => Assert.Equal(typeof(LibtorchPreload), m.DeclaringType));   // the one that must run first: which libtorch loads
    }

    static Glow SmallGlow() => new(GlowConfig.Small with { Levels = 2, StepsPerLevel = 2, HiddenChannels = 16 }, 1, 8, 8);

    /// <summary>
    /// After a flow's forward pass with gradients on, the tensors still alive on this thread are its outputs and a
    /// couple per layer, not every intermediate of every layer (which would keep all activations until the step ends).
    /// </summary>
    [Fact]
    public void FlowForwardKeepsOnlyLayerOutputsAlive()
    {
        Seeding.Set(0);
        using var glow = SmallGlow();
        using var x = rand(4, 1, 8, 8) - 0.5;
        using (no_grad()) glow.LogDensity(x).Dispose(); // ActNorm's data-dependent initialisation happens here
        int layers = glow.modules().OfType<FlowSequence>().Sum(s => s.Layers.Count);

        using var scope = NewDisposeScope();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var logp = glow.LogDensity(x);
        long alive = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        // each layer leaves its output and the running log-determinant; the levels, splits and prior a few more
        Assert.True(alive <= 2 * layers + 40, $"{alive} tensors alive after a forward pass through {layers} flow layers");

        // gradients still reach every parameter through the graph once the handles are gone
        logp.mean().backward();
        Assert.All(glow.parameters().Where(p => p.requires_grad), p => Assert.NotNull(p.grad));
    }

    /// <summary>Resident memory after 1,000 small Glow training steps is within a few MiB of what it was after 200.</summary>
    [Fact]
    public void ResidentMemoryStaysFlatOverAThousandGlowSteps()
    {
        if (!OperatingSystem.IsLinux()) return;
        Seeding.Set(0);
        using var glow = SmallGlow();
        var trainer = new FlowTrainer(glow, new FlowTrainConfig { BatchSize = 16 });
        using var images = randint(0, 256, new long[] { 16, 1, 8, 8 }, dtype: ScalarType.Byte);
        for (int s = 0; s < 200; s++) trainer.TrainStepOn(images);
        GC.Collect();
        long before = ResidentKiB();
        for (int s = 200; s < 1000; s++) trainer.TrainStepOn(images);
        GC.Collect();
        long grown = ResidentKiB() - before;
        Assert.True(grown < 16 * 1024, $"resident memory grew by {grown / 1024.0:F1} MiB over 800 steps");
    }

    /// <summary>VmRSS of /proc/self/status in KiB. The kernel writes "VmRSS:\t%8lu kB": from 10^7 KiB on there is
    /// no space between the tab and the digits, so the line is split on any whitespace.</summary>
    static long ResidentKiB() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:"))["VmRSS:".Length..]
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0]);
}
