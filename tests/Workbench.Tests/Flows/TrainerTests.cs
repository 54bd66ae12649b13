using TorchSharp;
using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Flows;

// Seeded comparisons of the dequantization noise: no other test may draw from the global generator meanwhile.
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class TrainerTests
{
    static ImageDataset TinyData(int n = 64)
    {
        var gen = new Random(1);
        var bytes = new byte[n * 1 * 4 * 4];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i % 16 < 8 ? gen.Next(0, 64) : gen.Next(128, 256));
        return new ImageDataset("tiny", tensor(bytes).view(n, 1, 4, 4));
    }

    static Glow TinyGlow() => new(GlowConfig.Small with { Levels = 1, StepsPerLevel = 2, HiddenChannels = 8 }, 1, 4, 4);

    [Fact]
    public void PolyakAverageStartsAfterTheFirstStepAndBlendsWithTheDecay()
    {
        Seeding.Set(12);
        using var data = TinyData();
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, data, data, new FlowTrainConfig
        {
            BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 0, Verbose = false, EvalEvery = 0, LogEvery = 0, EmaDecay = 0.9,
        });
        var ema = trainer.EmaModel!;
        Tensor[] Snapshot(nn.Module m) => m.parameters().Select(p => p.detach().clone()).ToArray();
        trainer.TrainStep();   // step 1: ActNorm's data init happens here; the average starts from these weights
        var w1 = Snapshot(model);
        Assert.All(ema.parameters().Zip(w1), t => Assert.True((t.First - t.Second).abs().max().item<float>() == 0));
        trainer.TrainStep();
        var w2 = Snapshot(model);
        Assert.All(ema.parameters().Zip(w1.Zip(w2)), t =>
            Assert.True((t.First - (0.9 * t.Second.First + 0.1 * t.Second.Second)).abs().max().item<float>() < 1e-6));
        Assert.True(w1.Zip(w2).Any(t => (t.First - t.Second).abs().max().item<float>() > 0), "the weights did not move");
        // evaluation measures the averaged weights
        Seeding.Set(5); double direct = FlowTrainer.EvaluateBitsPerDim(ema, data);
        Seeding.Set(5); double viaTrainer = trainer.Evaluate(data);
        Assert.Equal(direct, viaTrainer, 6);
    }

    [Fact]
    public void ManyStepsDoNotGrowTheLiveTensorCountAndTheLossFalls()
    {
        Seeding.Set(11);
        using var data = TinyData();
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, data, data, new FlowTrainConfig
        {
            BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 10, Verbose = false, EvalEvery = 0, LogEvery = 0,
            EmaDecay = 0.99,
        });
        double first = trainer.TrainStep();
        for (int i = 0; i < 9; i++) trainer.TrainStep();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        double last = 0;
        // 100 steps, not 1,000: the suite must stay fast on 2 shared cores; a per-step leak shows after one step.
        for (int i = 0; i < 100; i++) last = trainer.TrainStep();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(110, trainer.Step);
        Assert.True(last < first - 0.2, $"train bpd went from {first} to {last}");
        double heldOut = trainer.Evaluate(data);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(double.IsFinite(heldOut) && heldOut < first, $"held-out bpd {heldOut}");
    }

    [Fact]
    public void NaNLossStopsWithTheStepNumber()
    {
        Seeding.Set(12);
        using var data = TinyData();
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, data, null, new FlowTrainConfig { BatchSize = 16, Verbose = false });
        trainer.TrainStep();
        trainer.TrainStep();
        using (no_grad()) model.parameters().First(p => p.requires_grad).fill_(double.NaN);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStep());
        Assert.Equal(3, ex.Step);
        Assert.Contains("step 3", ex.Message);
    }

    [Fact]
    public void RunLogsTrainAndHeldOutBitsPerDimAndWarmsUpLinearly()
    {
        Seeding.Set(13);
        using var data = TinyData();
        var model = TinyGlow();
        var csv = Path.Combine(Path.GetTempPath(), $"flowlog-{Guid.NewGuid():N}.csv");
        using var trainer = new FlowTrainer(model, data, data, new FlowTrainConfig
        {
            Steps = 10, BatchSize = 16, WarmupSteps = 10, LearningRate = 1e-3, LogEvery = 5, EvalEvery = 5, EvalLimit = 32, Verbose = false, LogCsv = csv,
        });
        Assert.Equal(1e-4, trainer.LearningRateAt(0), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(9), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(100), 12);
        var log = trainer.Run();
        Assert.Equal(new long[] { 5, 10 }, log.Series("train_bpd").Steps);
        Assert.Equal(new long[] { 5, 10 }, log.Series("test_bpd").Steps);
        Assert.Equal(new long[] { 5, 10 }, TrainingLog.LoadCsv(csv).Series("test_bpd").Steps);
        File.Delete(csv);
    }
}
