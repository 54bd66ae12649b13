using System.Text.Json;
using TorchSharp;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Training.CheckpointTests;

namespace Workbench.Tests.Training;

[Collection(GlobalRngCollection.Name)]   // seeds and draws from libtorch's global generator
public class EmaTests
{
    static nn.Module<Tensor, Tensor> Net() => nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2));

    static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>A trainer's averaged copy starts as the source's weights in a module of its own, and building it does not
    /// consume libtorch's global random stream: the run draws the same numbers with the copy as without it.</summary>
    [Fact]
    public void CreateShadowCopiesTheWeightsWithoutConsumingTheRandomStream()
    {
        Seeding.Set(8);
        using var src = Net();
        Seeding.Set(8);
        var expected = randn(5).data<float>().ToArray();
        Seeding.Set(8);
        var (shadow, _) = Ema.CreateShadow(src, Net);
        var drawn = randn(5).data<float>().ToArray();
        Assert.Equal(expected, drawn);
        Assert.NotSame(src, shadow);
        var s = src.state_dict();
        foreach (var (k, t) in shadow.state_dict()) Assert.True(Same(t, s[k]), $"the copy differs from the source at {k}");
        Assert.All(shadow.parameters(), p => Assert.False(p.requires_grad));
        shadow.Dispose();
    }

    [Fact]
    public void BetaZeroCopiesAndBetaOneKeeps()
    {
        Seeding.Set(5);
        using var src = Net();
        using var shadow = Net();
        using (no_grad()) src.call(randn(8, 3)); // give the buffers values of their own
        var ema = new Ema(src, shadow);
        var before = Snapshot(shadow);
        ema.Update(1);
        foreach (var (k, t) in shadow.named_parameters()) Assert.True(Same(t, before[k]), $"beta 1 changed {k}");
        ema.Update(0);
        var s = src.state_dict();
        foreach (var (k, t) in shadow.state_dict()) Assert.True(Same(t, s[k]), $"beta 0 did not copy {k}");
    }

    [Fact]
    public void TwoStepsGiveTheKnownAverage()
    {
        Seeding.Set(6);
        using var src = Net();
        using var shadow = Net();
        var ema = new Ema(src, shadow);
        var s0 = Snapshot(shadow);
        var p1 = Snapshot(src);
        ema.Update(0.9);
        using (no_grad()) foreach (var p in src.parameters()) p.add_(1.0);
        var p2 = Snapshot(src);
        ema.Update(0.8);
        foreach (var (k, t) in shadow.named_parameters())
        {
            using var expected = (s0[k] * 0.9 + p1[k] * 0.1) * 0.8 + p2[k] * 0.2;
            Assert.True(t.allclose(expected, rtol: 1e-5, atol: 1e-6), $"{k} is not the two-step average");
        }
        // Buffers are copied, not averaged.
        Assert.True(Same(shadow.state_dict()["1.running_var"], src.state_dict()["1.running_var"]));
    }

    [Fact]
    public void MismatchedModulesAreRefused()
    {
        using var a = Net();
        using var b = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 2));
        var e = Assert.Throws<ArgumentException>(() => new Ema(a, b));
        Assert.Contains("0.weight", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ema(a, Net()).Update(1.5));
    }

    [Fact]
    public void BetaFromHalfLifeHalvesAfterTheHalfLife()
    {
        // StyleGAN2: batch 32, half-life 10k images.
        double beta = Ema.BetaFromHalfLife(32, 10_000);
        Assert.Equal(Math.Pow(0.5, 32 / 10_000.0), beta, 15);
        Assert.Equal(0.5, Math.Pow(beta, 10_000 / 32.0), 10);
        Assert.Equal(0.0, Ema.BetaFromHalfLife(32, 0));
        Assert.Equal(Ema.BetaFromHalfLife(32, 320 * 0.05), Ema.BetaFromHalfLife(32, 10_000, imagesSeen: 320, rampUp: 0.05), 15);
        Assert.Equal(beta, Ema.BetaFromHalfLife(32, 10_000, imagesSeen: 10_000_000, rampUp: 0.05), 15);
    }
}

public class ScheduleTests
{
    [Fact]
    public void WarmupReachesTheRateAtItsLastStep()
    {
        Assert.Equal(0.1, Schedules.LinearWarmup(0, 1.0, 10), 12);
        Assert.Equal(0.5, Schedules.LinearWarmup(4, 1.0, 10), 12);
        Assert.Equal(1.0, Schedules.LinearWarmup(9, 1.0, 10), 12);
        Assert.Equal(1.0, Schedules.LinearWarmup(1000, 1.0, 10), 12);
        Assert.Equal(2.0, Schedules.LinearWarmup(0, 2.0, 0), 12);
        Assert.Equal(3.0, Schedules.Constant(77, 3.0));
    }

    [Fact]
    public void CosineDecaysFromTheRateToTheFloor()
    {
        const double lr = 1e-3, floor = 1e-5;
        Assert.Equal(lr / 10, Schedules.WarmupCosine(0, lr, 10, 110, floor), 15);
        Assert.Equal(lr, Schedules.WarmupCosine(9, lr, 10, 110, floor), 15);
        Assert.Equal(lr, Schedules.WarmupCosine(10, lr, 10, 110, floor), 15);
        Assert.Equal((lr + floor) / 2, Schedules.WarmupCosine(60, lr, 10, 110, floor), 15);
        Assert.Equal(floor, Schedules.WarmupCosine(110, lr, 10, 110, floor), 15);
        Assert.Equal(floor, Schedules.WarmupCosine(500, lr, 10, 110, floor), 15);
        for (long s = 10; s < 110; s++)
            Assert.True(Schedules.WarmupCosine(s + 1, lr, 10, 110, floor) <= Schedules.WarmupCosine(s, lr, 10, 110, floor));
        // a run no longer than its warm-up (NVAE's CLI preset warms up over 200 steps; a short run is all warm-up)
        Assert.Equal(lr / 2, Schedules.WarmupCosine(4, lr, 10, 6, floor), 15);
        Assert.Equal(lr, Schedules.WarmupCosine(10, lr, 10, 6, floor), 15);
        Assert.Equal(floor, Schedules.WarmupCosine(11, lr, 10, 6, floor), 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedules.WarmupCosine(-1, lr, 10, 110));
    }

    [Fact]
    public void SetLearningRateSetsEveryGroup()
    {
        using var lin = nn.Linear(2, 2);
        var opt = optim.Adam(lin.parameters(), 1.0);
        Schedules.SetLearningRate(opt, 0.25);
        Assert.All(opt.ParamGroups, g => Assert.Equal(0.25, g.LearningRate));
        Assert.Equal(0.25, Schedules.GetLearningRate(opt), 15);
    }
}
