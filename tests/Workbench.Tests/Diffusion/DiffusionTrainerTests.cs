using Workbench.Data;
using Workbench.Diffusion;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Diffusion;

[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class DiffusionTrainerTests
{
    static readonly DiffusionConfig Tiny = DiffusionConfig.Small with
    {
        ImageChannels = 1, ImageSize = 8, Channels = 8, ChannelMultipliers = new[] { 1, 2 }, AttentionResolutions = new[] { 4 }, Timesteps = 20,
        Schedule = BetaScheduleKind.Cosine,   // the linear 1e-4…0.02 schedule is made for T = 1000: at T = 20 it leaves x_T far from N(0, I)
    };

    static Tensor Images(int seed, int n = 8)
    {
        using var g = new Generator((ulong)seed);
        return randint(0, 256, new long[] { n, 1, 8, 8 }, generator: g).to(ScalarType.Byte);
    }

    static float[] Values(Tensor t) => t.detach().cpu().data<float>().ToArray();

    /// <summary>A NaN in the model's output stops training with TrainingDivergedException naming the step, before the weights change.</summary>
    [Fact]
    public void TrainerStopsWithTheStepNumberOnNaN()
    {
        Seeding.Set(0);
        using var model = new UNet(Tiny);
        using var trainer = new DiffusionTrainer(model, DiffusionTrainConfig.Small with { WarmupSteps = 1 });
        trainer.TrainStepOn(Images(1));
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        // a model whose output is NaN: poison the output conv's bias
        using (no_grad()) model.parameters().Last().fill_(float.NaN);
        var poisoned = model.parameters().Select(p => p.detach().clone()).ToList();
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStepOn(Images(2)));
        Assert.Equal(1, e.Step);
        Assert.Equal(1, trainer.Step);
        foreach (var (p, q) in model.parameters().Zip(poisoned))
            Assert.True(Values(p).SequenceEqual(Values(q)));   // float.Equals: NaN equals NaN
        Assert.NotEmpty(before);
    }

    /// <summary>Save then Load restores model, EMA, optimizer, step and RNG: the step after a reload has the loss of the
    /// step after the save, exactly; the EMA differs from the model after training (decay &lt; 1) and is restored.</summary>
    [Fact]
    public void CheckpointRoundTripContinuesExactly()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("wb-diff-ck").FullName, "ck.safetensors");
        var config = DiffusionTrainConfig.Small with { WarmupSteps = 2, EmaDecay = 0.9, LogEvery = 1 };
        Seeding.Set(3);
        double expected;
        Tensor emaSaved;
        using (var model = new UNet(Tiny))
        using (var trainer = new DiffusionTrainer(model, config))
        {
            for (int i = 0; i < 3; i++) trainer.TrainStepOn(Images(i));
            trainer.Save(path);
            emaSaved = trainer.EmaModel.parameters().Last().detach().clone();
            Assert.False(Values(emaSaved).SequenceEqual(Values(model.parameters().Last())));
            expected = trainer.TrainStepOn(Images(9))["loss"];
        }
        Seeding.Set(99);
        using (var model = new UNet(Tiny))
        using (var trainer = new DiffusionTrainer(model, config))
        {
            trainer.Load(path);
            Assert.Equal(3, trainer.Step);
            Assert.True(Values(emaSaved).SequenceEqual(Values(trainer.EmaModel.parameters().Last())));
            Assert.Equal(3, trainer.Log.Count);   // the log beside the checkpoint: rows of steps 1..3 (LogEvery 1)
            Assert.Equal(expected, trainer.TrainStepOn(Images(9))["loss"]);
        }
    }

    /// <summary>Evaluate reports the held-out bound in bits/dim (finite, positive),
    /// its parts, and samplers return uint8 images of the data's shape (DDIM default, DDPM ancestral).</summary>
    [Fact]
    public void EvaluatesTheBoundAndSamples()
    {
        Seeding.Set(4);
        using var model = new UNet(Tiny);
        using var trainer = new DiffusionTrainer(model, DiffusionTrainConfig.Small with { WarmupSteps = 1, SampleSteps = 5 });
        for (int i = 0; i < 2; i++) trainer.TrainStepOn(Images(i));
        var data = new ImageDataset("tiny", Images(5, 6), null);
        var r = trainer.Evaluate(data, 4);
        // two steps from the zero-initialised output: ε̂ ≈ 0, so x̂_0 = x_t/√ᾱ_t is far off at large t and the KL terms are
        // hundreds of bits/dim; finite and positive, with L_T (no parameters) small
        Assert.True(double.IsFinite(r["test_bpd"]) && r["test_bpd"] > 1, $"test_bpd {r["test_bpd"]}");
        Assert.InRange(r["test_bpd_prior"], 0, 0.5);
        Assert.True(r["test_bpd_decoder"] > 0);
        var ddim = trainer.SampleImages(3);
        var ddpm = trainer.SampleImages(2, ancestral: true);
        Assert.Equal(new long[] { 3, 1, 8, 8 }, ddim.shape);
        Assert.Equal(new long[] { 2, 1, 8, 8 }, ddpm.shape);
        Assert.Equal(ScalarType.Byte, ddim.dtype);
    }

    /// <summary>The per-term breakdown is a mean over examples, so its terms add up to the bound even when the last batch
    /// is smaller than the others (3 examples in batches of 2); and the clipped bound (the authors' protocol) is reported
    /// beside it with standard errors.</summary>
    [Fact]
    public void TermBreakdownAddsUpToTheBoundWithAnUnevenLastBatch()
    {
        Seeding.Set(6);
        using var model = new UNet(Tiny);
        using var trainer = new DiffusionTrainer(model, DiffusionTrainConfig.Small with { WarmupSteps = 1 });
        trainer.TrainStepOn(Images(1));
        using var data = new ImageDataset("tiny", Images(7, 3), null);
        var bound = DiffusionTrainer.EvaluateBound(trainer.EmaModel, data, batchSize: 2);
        Assert.Equal(3, bound.Examples);
        Assert.Equal(Tiny.Timesteps, bound.Evaluations);
        Assert.True(Math.Abs(bound.Bpd - bound.TermsBpd.Sum()) < 1e-6 * bound.Bpd, $"terms add up to {bound.TermsBpd.Sum()}, the bound is {bound.Bpd}");
        Assert.True(bound.BpdStdError > 0 && bound.ClippedBpdStdError > 0);
        Assert.NotEqual(bound.Bpd, bound.ClippedBpd);
    }

    /// <summary>A random subset is drawn without replacement from the whole split by its seed: the same seed gives the same
    /// examples, and they are not the first ones.</summary>
    [Fact]
    public void RandomSubsetIsSeededAndNotTheFirstExamples()
    {
        using var data = new ImageDataset("tiny", Images(8, 50), null);
        using var a = data.Sample(10, 3);
        using var b = data.Sample(10, 3);
        Assert.Equal(10, a.Count);
        Assert.True(a.Images.equal(b.Images).all().item<bool>());
        Assert.False(a.Images.equal(data.Images[..10]).all().item<bool>());
        var rows = Enumerable.Range(0, 10).Select(i => string.Join(",", a.Images[i].flatten().data<byte>().ToArray())).ToHashSet();
        Assert.Equal(10, rows.Count);
    }

    /// <summary>The command line's default (the small preset) ends a run with a held-out bound that takes minutes, not a
    /// day: at most 50,000 network evaluations, on a random subset.</summary>
    [Fact]
    public void SmallPresetsClosingBoundIsBounded()
    {
        var c = DiffusionTrainConfig.Small;
        long images = c.EvalLimit ?? 10_000, perImage = c.BoundEvaluations ?? DiffusionConfig.Small.Timesteps;
        Assert.True(images * perImage <= 50_000, $"{images} images x {perImage} evaluations");
        Assert.NotNull(c.EvalSubsetSeed);
    }
}
