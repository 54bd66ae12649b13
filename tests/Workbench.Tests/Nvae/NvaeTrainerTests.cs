using Workbench.Data;
using Workbench.Nvae;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Nvae;

[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class NvaeTrainerTests
{
    static NvaeTrainer TrainerFor(NvaeTrainConfig config) => new(new Vae(VaeConfig.Tiny), config);

    [Fact]
    public void LearningRateWarmsUpLinearlyThenFollowsACosineToTheMinimum()
    {
        using var t = TrainerFor(new NvaeTrainConfig { Steps = 110, LearningRate = 1e-2, MinLearningRate = 1e-4, WarmupSteps = 10 });
        Assert.Equal(1e-3, t.LearningRateAt(0), 15);           // (0 + 1) / 10 of the peak
        Assert.Equal(5e-3, t.LearningRateAt(4), 15);
        Assert.Equal(1e-2, t.LearningRateAt(9), 15);           // the peak at the last warm-up step
        Assert.Equal(1e-2, t.LearningRateAt(10), 15);          // the cosine starts at the peak
        Assert.Equal(5.05e-3, t.LearningRateAt(60), 15);       // midpoint: 1e-4 + (1e-2 - 1e-4) / 2
        Assert.Equal(1e-4 + 0.5 * 9.9e-3 * (1 + Math.Cos(Math.PI / 4)), t.LearningRateAt(35), 15);
        Assert.Equal(1e-4, t.LearningRateAt(110), 15);
        Assert.Equal(1e-4, t.LearningRateAt(1000), 15);
    }

    /// <summary>NVAE's loss carries the BatchNorm scale penalty with the spectral coefficient (Section 3.1): two
    /// identical models, with and without the penalty, differ in their first loss by exactly λ · penalty.</summary>
    [Fact]
    public void TheLossCarriesTheBatchNormScalePenaltyWithTheSpectralCoefficient()
    {
        var config = new NvaeTrainConfig { Steps = 10, WarmupSteps = 2, SpectralLambda = 0.5, LogEvery = 0 };
        Tensor images;
        using (var g = new Generator(3)) images = randint(0, 256, new long[] { 4, 1, 8, 8 }, generator: g).to(ScalarType.Byte);
        double Loss(bool penalty, out double lambdaTimesPenalty)
        {
            Seeding.Set(11);
            var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny with { BatchNormPenalty = penalty });
            using var t = new NvaeTrainer(model, config);
            lambdaTimesPenalty = t.SpectralLambdaAt(t.BetaAt(0)) * model.BatchNormScalePenalty().item<float>();
            return t.TrainStepOn(images)["loss"];
        }
        var with = Loss(true, out var expected);
        var without = Loss(false, out _);
        Assert.True(expected > 0.01, $"the penalty term is too small to see: {expected}");
        Assert.Equal(expected, with - without, 3);
    }

    [Fact]
    public void BetaStaysAtItsMinimumThenRampsToOneOverTheKlWarmup()
    {
        // 1,000 steps: β at its minimum for the first 10 (1%), then linear over 300 (30%)
        using var t = TrainerFor(new NvaeTrainConfig { Steps = 1000, KlAnnealFraction = 0.3, KlConstFraction = 0.01, KlMinCoefficient = 1e-4 });
        Assert.Equal(1e-4, t.BetaAt(0), 15);
        Assert.Equal(1e-4, t.BetaAt(10), 15);
        Assert.Equal(0.1, t.BetaAt(40), 15);      // (40 - 10) / 300
        Assert.Equal(0.5, t.BetaAt(160), 15);
        Assert.Equal(1.0, t.BetaAt(310), 15);
        Assert.Equal(1.0, t.BetaAt(999), 15);
    }

    [Fact]
    public void SpectralLambdaAnnealsLogLinearlyWithBeta()
    {
        using var annealed = TrainerFor(new NvaeTrainConfig { SpectralLambda = 1e-2, SpectralLambdaInit = 1.0 });
        Assert.Equal(1.0, annealed.SpectralLambdaAt(0), 12);
        Assert.Equal(0.1, annealed.SpectralLambdaAt(0.5), 12);   // the geometric mean of 1 and 1e-2
        Assert.Equal(1e-2, annealed.SpectralLambdaAt(1), 12);
        using var constant = TrainerFor(new NvaeTrainConfig { SpectralLambda = 1e-2 });
        Assert.Equal(1e-2, constant.SpectralLambdaAt(0), 15);
        using var off = TrainerFor(new NvaeTrainConfig { SpectralLambda = 0, SpectralLambdaInit = 1.0 });
        Assert.Equal(0, off.SpectralLambdaAt(0.3));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void EvaluateLeavesTheModelInTheModeItWasIn(bool training, bool throws)
    {
        Seeding.Set(6);
        using var test = new ImageDataset("tiny", randint(0, 256, new long[] { 4, 1, 8, 8 }).to(ScalarType.Byte));
        using var wrongShape = new ImageDataset("3 channels", zeros(new long[] { 4, 3, 8, 8 }, dtype: ScalarType.Byte));
        using var t = TrainerFor(new NvaeTrainConfig { Steps = 10, WarmupSteps = 2, IwSamples = 2 });
        t.Model.train(training);
        if (throws) Assert.ThrowsAny<Exception>(() => t.Evaluate(wrongShape));
        else Assert.Contains("test_bpd_iw", t.Evaluate(test).Keys);
        Assert.Equal(training, t.Model.training);
    }

    [Fact]
    public void RunTrainsOnItsOwnLoaderLogsEveryLogEveryStepsAndEvaluatesAtTheEnd()
    {
        Seeding.Set(7);
        using var train = new ImageDataset("tiny", randint(0, 256, new long[] { 16, 1, 8, 8 }).to(ScalarType.Byte));
        using var test = new ImageDataset("tiny-test", randint(0, 256, new long[] { 4, 1, 8, 8 }).to(ScalarType.Byte));
        using var t = new NvaeTrainer(new Vae(VaeConfig.Tiny), new NvaeTrainConfig { Steps = 6, WarmupSteps = 2, BatchSize = 4, LogEvery = 3, IwSamples = 2 }, train, test);
        var log = t.Run();
        Assert.Equal(6, t.Step);
        Assert.Equal(new long[] { 3, 6 }, log.Series("bpd").Steps);
        Assert.Equal(new long[] { 6 }, log.Series("test_bpd_iw").Steps);
        // every series is the mean over its interval (steps 3, 4, 5 here, 0-based)
        Assert.Equal(new[] { 3L, 4, 5 }.Average(t.LearningRateAt), log.Last("lr")!.Value, 15);
    }
}
