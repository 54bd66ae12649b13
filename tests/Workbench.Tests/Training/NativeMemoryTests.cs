using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>
/// The allocator and the dispose scopes: glibc keeps freed memory for the next step, workbench restarts itself under
/// tcmalloc where the machine has it, a training step's forward pass leaves only the loss's handle alive when backward
/// starts, a flow's forward pass leaves only its layers' outputs alive on this thread, and resident memory stays flat
/// over 1,000 training steps with the allocator settings in effect.
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

    /// <summary>An identity whose backward records whether <see cref="Watched"/>'s handle is gone by then.</summary>
    sealed class HandleProbe : autograd.SingleTensorFunction<HandleProbe>
    {
        public static Tensor? Watched;
        public static bool? WatchedGoneAtBackward;
        public override string Name => nameof(HandleProbe);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).alias();
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            WatchedGoneAtBackward = Watched!.IsInvalid;
            return new List<Tensor> { gradOutput };
        }
    }

    /// <summary>
    /// TrainStep.Run computes the loss in a scope of its own: when backward starts, the forward pass's intermediates
    /// have no managed handle left (autograd alone holds what it saved and frees it as it passes), as in PyTorch, where
    /// an unreferenced tensor is freed at once. The gradient still reaches the parameter.
    /// </summary>
    [Fact]
    public void TrainStepReleasesTheForwardIntermediatesBeforeBackward()
    {
        Seeding.Set(0);
        using var w = new TorchSharp.Modules.Parameter(randn(6, 6));
        using var opt = optim.SGD(new[] { w }, 0.1);
        using var x = randn(4, 6);
        HandleProbe.Watched = null;
        HandleProbe.WatchedGoneAtBackward = null;
        var before = w.detach().clone();
        TrainStep.Run(opt, new[] { w }, () =>
        {
            var hidden = x.matmul(w);                       // an intermediate of the forward pass
            HandleProbe.Watched = hidden;
            return HandleProbe.apply(hidden.tanh()).square().sum();
        }, step: 0);
        Assert.True(HandleProbe.WatchedGoneAtBackward, "the forward pass's intermediate still had its handle when backward ran");
        Assert.False(w.detach().allclose(before), "the parameter did not move: the gradient did not reach it");
        before.Dispose();
    }

    /// <summary>
    /// workbench restarts itself once with tcmalloc preloaded where the machine has it (same arguments: --threads 2
    /// survives the restart), and WORKBENCH_MALLOC=glibc keeps glibc with the settings. Skipped where tcmalloc is not
    /// installed (Debian: libtcmalloc-minimal4; .ci/run installs it).
    /// </summary>
    [SkippableFact]
    public void WorkbenchRestartsUnderTcmallocWhereTheMachineHasIt()
    {
        if (!OperatingSystem.IsLinux()) throw new SkipTestException("tcmalloc is preloaded on Linux only");
        if (NativeAllocator.FindTcmalloc() is null) throw new SkipTestException("tcmalloc is not installed (apt-get install libtcmalloc-minimal4)");
        var (auto, autoOut) = Info(null);
        Assert.True(auto.GetProperty("tcmalloc").GetBoolean(), autoOut);
        Assert.False(auto.GetProperty("malloc_tuned").GetBoolean(), autoOut);
        Assert.Equal(2, auto.GetProperty("threads").GetInt32());
        Assert.Contains("allocator    tcmalloc", autoOut);

        var (glibc, glibcOut) = Info("glibc");
        Assert.False(glibc.GetProperty("tcmalloc").GetBoolean(), glibcOut);
        Assert.True(glibc.GetProperty("malloc_tuned").GetBoolean(), glibcOut);
    }

    /// <summary>`workbench info --threads 2` as a child process (its last line is JSON) with WORKBENCH_MALLOC set or removed.</summary>
    static (JsonElement Json, string Output) Info(string? mode)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Workbench.Cli.dll"), "info", "--threads", "2" }) psi.ArgumentList.Add(a);
        foreach (var v in new[] { NativeAllocator.EnvironmentVariable, NativeAllocator.RestartedVariable, "LD_PRELOAD", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_" })
            psi.Environment.Remove(v);
        if (mode is not null) psi.Environment[NativeAllocator.EnvironmentVariable] = mode;
        psi.Environment["WORKBENCH_DEVICE"] = "cpu";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"workbench info exited {p.ExitCode}: {err.Result}");
        var json = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        return (JsonDocument.Parse(json).RootElement.Clone(), output);
    }

    /// <summary>VmRSS of /proc/self/status in KiB. The kernel writes "VmRSS:\t%8lu kB": from 10^7 KiB on there is
    /// no space between the tab and the digits, so the line is split on any whitespace.</summary>
    static long ResidentKiB() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:"))["VmRSS:".Length..]
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0]);
}
