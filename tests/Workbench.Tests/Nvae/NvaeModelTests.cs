using TorchSharp;
using TorchSharp.Modules;
using Workbench.Metrics;
using Workbench.Nvae;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Nvae;

// These tests replay seeded draws of the global generator (Seeding.Set … Seeding.Set), so no other test may draw
// from it meanwhile.
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class NvaeModelTests
{
    static Tensor TinyImages(long n, int side = 8, int seed = 0) =>
        randint(0, 256, new long[] { n, 1, side, side }, generator: new Generator((ulong)seed)).to(ScalarType.Byte);

    [Fact]
    public void HierarchyStartsAtTheSmallestScaleAndConditionsLaterGroupsOnEarlierOnes()
    {
        using var scope = NewDisposeScope();
        var small = new Workbench.Nvae.Nvae(NvaeConfig.Small);
        Assert.Equal(new[] { (20, 7, 7), (20, 7, 7), (20, 14, 14), (20, 14, 14) }, small.GroupShapes.ToArray());
        Assert.Equal(new[] { 1.0, 1, 4, 4 }, small.BalanceAlpha);

        Seeding.Set(1);
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        model.eval();
        using var _ = no_grad();
        var (p1, z) = model.Generate(2);
        Assert.Equal(new long[] { 2, 2, 2, 2 }, z[0].shape);  // z1 at 2×2 (8 / 2^2)
        Assert.Equal(new long[] { 2, 2, 4, 4 }, z[1].shape);  // z2 at 4×4
        // given all z, generation is deterministic; changing z1 alone changes the prior of z2 and the image
        var (p2, _) = model.Generate(2, fixedZ: z);
        Assert.True((p1 - p2).abs().max().item<float>() < 1e-5);
        var (p3, z3) = model.Generate(2, fixedZ: new Tensor?[] { z[0] + 1, null });
        Assert.True((p3 - p1).abs().max().item<float>() > 1e-4);
        // temperature 0: z1 is the prior mean (0)
        var (_, zc) = model.Generate(2, temperature: 0);
        Assert.Equal(0, zc[0].abs().max().item<float>());
        // the posterior of every group depends on x (bottom-up path)
        var x = TinyImages(2);
        Seeding.Set(3); var a = model.call(x);
        Seeding.Set(3); var b = model.call(TinyImages(2, seed: 9));
        Assert.True((a.Z[0] - b.Z[0]).abs().max().item<float>() > 1e-6 && (a.Z[1] - b.Z[1]).abs().max().item<float>() > 1e-6);
        Assert.Equal(2, a.Kl.Length);
    }

    [Fact]
    public void ImportanceWeightedBoundIsTighterThanTheElboAndEqualsItForOneSample()
    {
        using var scope = NewDisposeScope();
        foreach (VaeModel model in new VaeModel[] { new Workbench.Nvae.Nvae(NvaeConfig.Tiny), new Vae(VaeConfig.Tiny), new Workbench.Nvae.Nvae(NvaeConfig.Tiny with { IafCells = 2 }) })
        {
            model.eval();
            var x = TinyImages(4);
            using var _ = no_grad();
            // K = 1 with the same noise is the single-sample ELBO log p(x|z) + log p(z) − log q(z|x)
            Seeding.Set(5); var single = model.call(x).LogWeight();
            Seeding.Set(5); var iw1 = model.LogProb(x, 1);
            Assert.True((single - iw1).abs().max().item<float>() < 1e-3);
            // the ELBO from the KL terms equals log w (closed-form KL: in expectation; IAF: the one-sample KL exactly)
            if (model is Workbench.Nvae.Nvae { Config.IafCells: > 0 })
            {
                Seeding.Set(5); var o = model.call(x);
                Assert.True((o.Elbo() - o.LogWeight()).abs().max().item<float>() < 1e-2);
            }
            // IW-K against the ELBO estimates from the same K samples (same noise: one sample per call)
            Seeding.Set(6);
            var elbos = stack(Enumerable.Range(0, 8).Select(_ => model.call(x).LogWeight()).ToArray());
            Seeding.Set(6);
            var iw = model.LogProb(x, 8, chunk: 1);
            Assert.True((iw - elbos.mean(new long[] { 0 })).min().item<float>() >= -1e-4, $"{model.GetName()}: IW-8 below the ELBO");
            Assert.True((iw - elbos.max(0).values).max().item<float>() <= 1e-4, "IW-K cannot exceed its best sample");
        }
        // NVAE (q far from p at init): IW-32 is above the closed-form-KL ELBO on average
        var nv = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        nv.eval();
        using (no_grad())
        {
            var x = TinyImages(4);
            Seeding.Set(7);
            var elbo = stack(Enumerable.Range(0, 4).Select(_ => nv.call(x).Elbo()).ToArray()).mean();
            var iw32 = nv.LogProb(x, 32, chunk: 32).mean();
            Assert.True(iw32.item<float>() > elbo.item<float>(), $"IW-32 {iw32.item<float>()} vs ELBO {elbo.item<float>()}");
        }
        // the bound itself: constant weights give the constant; logsumexp − log K
        var lw = tensor(new float[,] { { 1, 2 }, { 1, 4 } });
        var bound = ImportanceWeighted.Bound(lw);
        Assert.Equal(1.0, bound[0].item<float>(), 5);
        Assert.Equal(Math.Log((Math.E * Math.E + Math.Exp(4)) / 2), bound[1].item<float>(), 4);
    }

    /// <summary>
    /// The importance samples of a batch are routed to their own example: two very different images (all black and
    /// uniform noise) bounded together in one chunk of K copies give, per image, what each gives alone (up to the
    /// Monte-Carlo spread, far below the gap between the two). Copies laid out image by image (repeat_interleave)
    /// instead of batch by batch would mix the two images' weights.
    /// </summary>
    [Fact]
    public void ImportanceSamplesAreRoutedToTheirOwnExample()
    {
        using var scope = NewDisposeScope();
        foreach (VaeModel model in new VaeModel[] { new Workbench.Nvae.Nvae(NvaeConfig.Tiny), new Vae(VaeConfig.Tiny) })
        {
            model.eval();
            var x = cat(new[] { zeros(1, 1, 8, 8, dtype: ScalarType.Byte), TinyImages(1, seed: 3) }, 0);
            Seeding.Set(8);
            var together = model.LogProb(x, 16, chunk: 16);
            var alone = cat(new[] { model.LogProb(x[..1], 16, chunk: 16), model.LogProb(x[1..], 16, chunk: 16) }, 0);
            double gap = (alone[0] - alone[1]).abs().item<float>();
            Assert.True(gap > 20, $"{model.GetName()}: the two images should differ in log p by far more than the noise: {gap}");
            Assert.True((together - alone).abs().max().item<float>() < 0.05 * gap,
                $"{model.GetName()}: batched {together[0].item<float>()}, {together[1].item<float>()} vs alone {alone[0].item<float>()}, {alone[1].item<float>()}");
        }
    }

    /// <summary>
    /// Burda et al.'s Theorem 1 on a trained model: the expected importance-weighted bound grows with K. On the zoo's
    /// trained NVAE and 16 test images, IW-1 ≤ IW-5 ≤ IW-50 (each a mean over 4 repeats, within 3 standard errors of the
    /// difference), and IW-50 is strictly above the ELBO (IW-1).
    /// </summary>
    [SkippableFact]
    public void ImportanceWeightedBoundGrowsWithKOnTheTrainedModel()
    {
        RequiredData.RequireFashionMnist();
        const string name = "nvae-fashion-mnist-small";
        var folder = Path.Combine(Workbench.Zoo.ZooModel.DefaultZooFolder!, name);
        if (!Directory.Exists(folder)) throw new SkipTestException($"{name} is not in the zoo");
        using var scope = NewDisposeScope();
        var zoo = Workbench.Zoo.ZooModel.Open(name);
        var model = new Workbench.Nvae.Nvae(zoo.ModelConfig<NvaeConfig>());
        zoo.LoadWeights(model);
        model.eval();
        using var test = Workbench.Data.Datasets.FashionMnist(false);
        var x = test.Images[..16];
        Seeding.Set(9);
        (double Mean, double Se) Bound(int k)
        {
            var repeats = Enumerable.Range(0, 4).Select(_ => (double)model.LogProb(x, k, chunk: 25).mean().item<float>()).ToArray();
            double m = repeats.Average();
            return (m, Math.Sqrt(repeats.Sum(v => (v - m) * (v - m)) / (repeats.Length - 1) / repeats.Length));
        }
        var (iw1, iw5, iw50) = (Bound(1), Bound(5), Bound(50));
        double Se(params (double Mean, double Se)[] b) => Math.Sqrt(b.Sum(v => v.Se * v.Se));
        Assert.True(iw1.Mean <= iw5.Mean + 3 * Se(iw1, iw5), $"IW-1 {iw1} vs IW-5 {iw5} (nats)");
        Assert.True(iw5.Mean <= iw50.Mean + 3 * Se(iw5, iw50), $"IW-5 {iw5} vs IW-50 {iw50}");
        Assert.True(iw50.Mean > iw1.Mean + 3 * Se(iw1, iw50), $"IW-50 {iw50} should be above the ELBO {iw1}");
    }

    [Fact]
    public void HeldOutKlStatisticsAverageTheKlOfEachGroupOverExamples()
    {
        using var scope = NewDisposeScope();
        var x = TinyImages(10);
        using var data = new Workbench.Data.ImageDataset("tiny", x);
        // plain VAE: its KL is a function of x alone, so batches of 4, 4 and 2 must give the full-batch average;
        // NVAE: later priors depend on the sampled z, so one batch with the same seed
        foreach (var (model, batch) in new (VaeModel, int)[] { (new Vae(VaeConfig.Tiny), 4), (new Workbench.Nvae.Nvae(NvaeConfig.Tiny), 10) })
        {
            Seeding.Set(11);
            var (kl, active) = NvaeTrainer.KlStatistics(model, data, limit: 10, threshold: 0.1, batchSize: batch);
            model.eval();
            Seeding.Set(11);
            Tensor[] perGroup;
            using (no_grad()) perGroup = model.call(x).Kl;
            Assert.Equal(model.GroupShapes.Count, kl.Length);
            for (int l = 0; l < kl.Length; l++)
            {
                var mean = perGroup[l].mean(new long[] { 0 });
                Assert.Equal(mean.sum().item<float>(), kl[l], 2);
                Assert.Equal((mean > 0.1).sum().item<long>(), active[l]);
            }
            Assert.True(kl.Sum() > 0);
        }
    }

    [Fact]
    public void TrainerStopsWithTheStepNumberOnNaN()
    {
        using var scope = NewDisposeScope();
        Seeding.Set(2);
        var model = new Vae(VaeConfig.Tiny);
        var trainer = new NvaeTrainer(model, new NvaeTrainConfig { Steps = 10, WarmupSteps = 2 });
        var x = TinyImages(4);
        trainer.TrainStepOn(x);
        trainer.TrainStepOn(x);
        using (no_grad()) model.modules().OfType<Conv2d>().Last().weight!.fill_(double.NaN);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStepOn(x));
        Assert.Equal(2, ex.Step);
        Assert.Contains("kl_g0", trainer.Log.MetricNames);
        Assert.Contains("au_g0", trainer.Log.MetricNames);
    }

    [Fact]
    public void TrainingStepsDoNotLeakTensors()
    {
        using var outer = NewDisposeScope();
        Seeding.Set(4);
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        var trainer = new NvaeTrainer(model, new NvaeTrainConfig { Steps = 40, WarmupSteps = 2 });
        var x = TinyImages(4);
        for (int i = 0; i < 3; i++) trainer.TrainStepOn(x); // optimizer state is created on the first steps
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 20; i++) trainer.TrainStepOn(x);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
        // and the loss went down on this one batch
        var loss = trainer.Log.Series("loss").Values;
        Assert.True(loss[^1] < loss[0]);
    }

    /// <summary>A tiny NVAE (seed 8) after a few training-mode passes, so every BN layer has non-trivial running statistics.</summary>
    static (Workbench.Nvae.Nvae Model, BatchNorm2d[] Layers) TinyNvaeWithBatchStatistics()
    {
        Seeding.Set(8);
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        model.train();
        using (no_grad()) for (int i = 0; i < 3; i++) model.call(TinyImages(8, seed: i));
        return (model, model.modules().OfType<BatchNorm2d>().ToArray());
    }

    /// <summary>Copies of every layer's running mean and variance, in order.</summary>
    static Tensor[] RunningStatistics(BatchNorm2d[] layers) =>
        layers.SelectMany(b => new[] { b.running_mean!.clone(), b.running_var!.clone() }).ToArray();

    [Fact]
    public void BatchNormReadjustmentUpdatesOnlyTheGenerativePath()
    {
        using var scope = NewDisposeScope();
        var (model, bns) = TinyNvaeWithBatchStatistics();
        Tensor[] Snapshot() => RunningStatistics(bns);
        bool[] Same(Tensor[] a, Tensor[] b) => a.Zip(b, (x, y) => x.allclose(y, 0, 0)).ToArray();
        var before = Snapshot();
        Assert.All(before.Where((_, i) => i % 2 == 0), m => Assert.True(m.abs().max().item<float>() > 0));

        // no sampling pass: nothing changes (the reset statistics of layers that did not run are put back)
        model.ReadjustBatchNorm(0.6, batches: 0);
        Assert.All(Same(before, Snapshot()), Assert.True);
        Assert.False(model.training);

        // the encoder's posterior of z_1 uses only the bottom-up path: same noise, same z_1 before and after
        var x = TinyImages(4, seed: 5);
        model.eval();
        Tensor z1Before;
        using (no_grad()) { Seeding.Set(9); z1Before = model.call(x).Z[0]; }
        model.ReadjustBatchNorm(0.6, batches: 3, batchSize: 8);
        Assert.False(model.training);
        Tensor z1After;
        using (no_grad()) { Seeding.Set(9); z1After = model.call(x).Z[0]; }
        Assert.True(z1Before.allclose(z1After, 0, 0), "re-adjusting BN for samples changed the encoder");

        // some BN layers (the generative path's) moved, the others (the encoder's) kept their statistics exactly;
        // the momentum stays NVAE's 0.05
        var same = Same(before, Snapshot());
        Assert.Contains(false, same);
        Assert.Contains(true, same);
        Assert.All(bns, b => Assert.Equal(NvaeBatchNorm.Momentum, b.momentum!.Value, 10));
        var imgs = model.SampleImages(3, 0.6);
        Assert.Equal(new long[] { 3, 1, 8, 8 }, imgs.shape);
        Assert.Equal(ScalarType.Byte, imgs.dtype);
    }

    [Fact]
    public void ReadjustedStatisticsDoNotDependOnThePreviousTemperatureAndAverageEveryPass()
    {
        var (model, bns) = TinyNvaeWithBatchStatistics();
        Tensor[] Snapshot() => RunningStatistics(bns);

        // re-adjusted at 0.8 after 0.5 or after 1.0 (same sampling noise): the same statistics, bit for bit
        model.ReadjustBatchNorm(0.5, batches: 4, batchSize: 8);
        Seeding.Set(3);
        model.ReadjustBatchNorm(0.8, batches: 4, batchSize: 8);
        var afterCold = Snapshot();
        model.ReadjustBatchNorm(1.0, batches: 4, batchSize: 8);
        Seeding.Set(3);
        model.ReadjustBatchNorm(0.8, batches: 4, batchSize: 8);
        var afterHot = Snapshot();
        Assert.All(afterCold.Zip(afterHot), p => Assert.True(p.First.allclose(p.Second, 0, 0), "statistics remember the previous temperature"));
        Assert.All(bns, b => Assert.Equal(NvaeBatchNorm.Momentum, b.momentum!.Value, 10));

        // each pass weighs the same: with momentum null after a reset, BN's running mean is the mean of the batch means
        var bn = NvaeBatchNorm.Create(3);
        bn.reset_running_stats();
        bn.momentum = null;
        bn.train();
        var batches = Enumerable.Range(0, 3).Select(i => randn(5, 3, 2, 2) + i).ToArray();
        using (no_grad()) foreach (var b in batches) bn.call(b);
        var expected = stack(batches.Select(b => b.mean(new long[] { 0, 2, 3 })).ToArray()).mean(new long[] { 0 });
        Assert.True(bn.running_mean!.allclose(expected, 1e-6, 1e-6));
    }

    [Fact]
    public void PaperScaleDefaultIsTheReferenceCifar10Model()
    {
        // NVlabs/NVAE README, CIFAR-10: one latent scale of 30 groups × 20 channels at 16×16 (one preprocessing
        // block halves 32×32), top width 128·2 = 256, num_nf = 1 (one IAF pair)
        var c = new NvaeConfig();
        Assert.Equal(Enumerable.Repeat((20, 16, 16), 30).ToArray(), c.LatentGroupShapes());
        Assert.Equal(256, c.ScaleWidth(0));
        Assert.Equal((3, 2, 2, 2, 2), (c.ImageChannels, c.PreprocessCells, c.PostprocessCells, c.EncoderCellsPerGroup, c.DecoderCellsPerGroup));
        Assert.Equal((2, 10, 6), (c.IafCells, c.Components, c.Expansion));
        // the shapes the model builds are the config's (two scales, as in Small)
        var small = new Workbench.Nvae.Nvae(NvaeConfig.Small);
        Assert.Equal(NvaeConfig.Small.LatentGroupShapes(), small.GroupShapes.ToArray());
    }
}
