using TorchSharp;
using Workbench.Data;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

/// <summary>The trainer draws from libtorch's global generator, so these tests must not run beside others that do.</summary>
[CollectionDefinition("StyleGan2 global RNG", DisableParallelization = true)]
public class GlobalRngCollection { }

[Collection("StyleGan2 global RNG")]
public class TrainerTests
{
    static StyleGan2TrainConfig Tiny => StyleGan2TrainConfig.Small with
    {
        R1Interval = 2, PathLengthInterval = 2, BatchSize = 4, MixingProbability = 0.9, R1Gamma = 1.0,
    };

    static ImageDataset RandomImages(int n = 16, int res = 8)
    {
        using var g = new torch.Generator(99);
        return new ImageDataset("random", randint(0, 256, new long[] { n, 3, res, res }, generator: g).to(ScalarType.Byte));
    }

    /// <summary>G and D built from libtorch's generator seeded with <paramref name="seed"/>, and their trainer.</summary>
    static StyleGan2Trainer Build(StyleGan2TrainConfig config, ImageDataset data, long seed)
    {
        Seeding.Set(seed);
        var g = new StyleGan2Generator(ComponentTests.TinyConfig(8));
        var d = new StyleGan2Discriminator(ComponentTests.TinyConfig(8));
        return new StyleGan2Trainer(g, d, config, data, seed: seed);
    }

    static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void ResumingFromACheckpointContinuesExactly()
    {
        using var data = RandomImages();
        // 2N steps straight through.
        using var straight = Build(Tiny, data, seed: 5);
        straight.Run(4);
        // N steps, save, load into a fresh trainer, N steps.
        var dir = Path.Combine(Path.GetTempPath(), "sg2-ckpt-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            using (var first = Build(Tiny, data, seed: 5))
            {
                first.Run(2);
                first.Save(dir);
                first.TrainStepOn(); // wander off: must not matter
            }
            using (var reshuffled = Build(Tiny, data, seed: 77))
                Assert.Contains("seed 5", Assert.Throws<CheckpointMismatchException>(() => reshuffled.Load(dir)).Message);
            using var resumed = Build(Tiny, data, seed: 5);
            Seeding.Set(99);   // the checkpoint's generator state replaces this
            resumed.Load(dir);
            Assert.Equal(2, resumed.Step);
            resumed.Run(2);
            Assert.Equal(straight.Step, resumed.Step);
            Assert.Equal(straight.ImagesSeen, resumed.ImagesSeen);
            Assert.Equal(straight.PathLength.Mean, resumed.PathLength.Mean);
            foreach (var (a, b, name) in new[] { (straight.G, resumed.G, "G"), (straight.GEma, resumed.GEma, "G_ema") })
                foreach (var (k, v) in Snapshot(a))
                    Assert.True(v.equal(Snapshot(b)[k]).all().item<bool>(), $"{name}.{k} differs after resuming");
            foreach (var (k, v) in Snapshot(straight.D))
                Assert.True(v.equal(Snapshot(resumed.D)[k]).all().item<bool>(), $"D.{k} differs after resuming by {(v - Snapshot(resumed.D)[k]).abs().max().item<float>()}");
            Assert.Equal(straight.Log.Series("loss_d").Values, resumed.Log.Series("loss_d").Values);
            // A different config is refused with a clear message.
            using var other = Build(Tiny with { R1Gamma = 3 }, data, seed: 5);
            var ex = Assert.Throws<CheckpointMismatchException>(() => other.Load(dir));
            Assert.Contains("R1Gamma", ex.Message);
        }
        finally { File.Delete(dir); File.Delete(Trainer.LogPathFor(dir)); }
    }

    [Fact]
    public void TheLazyScheduleLogsRegularisersOnTheirIntervals()
    {
        using var data = RandomImages();
        using var t = Build(Tiny with { R1Interval = 3, PathLengthInterval = 2 }, data, seed: 1);
        var seen = new List<long>();
        t.Run(6, onLog: l => seen.Add(l.LastStep));
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, seen);
        Assert.Equal(new long[] { 1, 4 }, t.Log.Series("r1").Steps);          // iterations 0 and 3
        Assert.Equal(new long[] { 1, 3, 5 }, t.Log.Series("pl_length").Steps); // iterations 0, 2, 4
        Assert.Equal(6, t.Log.Series("loss_g").Values.Length);
        Assert.All(t.Log.Series("d_real_std").Values, v => Assert.True(double.IsFinite(v)));
        // every phase reports its gradient norm, the regularisers' on their iterations only
        Assert.All(new[] { "grad_norm_g", "grad_norm_d" }, n => Assert.All(t.Log.Series(n).Values, v => Assert.True(v > 0 && double.IsFinite(v), $"{n} = {v}")));
        Assert.Equal(new long[] { 1, 4 }, t.Log.Series("grad_norm_r1").Steps);
        Assert.Equal(new long[] { 1, 3, 5 }, t.Log.Series("grad_norm_pl").Steps);
        Assert.Equal(6 * 4 / 1000.0, t.Kimg, 9);
        var grid = t.FixedSeedSamples(4);
        Assert.Equal(ScalarType.Byte, grid.dtype);
        Assert.Equal(new long[] { 4, 3, 8, 8 }, grid.shape);
        Assert.True(grid.equal(t.FixedSeedSamples(4)).all().item<bool>());
        // The EMA lags behind G (β > 0 after the ramp-up starts).
        var gw = t.G.parameters().First();
        var ew = t.GEma.parameters().First();
        Assert.False(gw.equal(ew).all().item<bool>());
    }

    [Fact]
    public void ADivergingRunStopsNamingTheStep()
    {
        using var data = RandomImages();
        using var t = Build(Tiny, data, seed: 2);
        t.Run(2);
        using (no_grad()) t.G.Synthesis.parameters().First().fill_(double.NaN);
        var ex = Assert.Throws<TrainingDivergedException>(() => t.Run(5));
        Assert.Equal(2, ex.Step);
        Assert.Contains("step 2", ex.Message);
        Assert.Equal(2, t.Step);
    }

    [Fact]
    public void AMismatchedDatasetIsRefusedWithItsShape()
    {
        using var data = RandomImages(res: 16);
        var ex = Assert.Throws<ArgumentException>(() => Build(Tiny, data, seed: 0));
        Assert.Contains("3x16x16", ex.Message);
    }
}
