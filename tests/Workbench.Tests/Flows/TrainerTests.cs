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
    static ImageDataset TinyData(int n = 64, int seed = 1)
    {
        var gen = new Random(seed);
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
        using var trainer = new FlowTrainer(model, new FlowTrainConfig
        {
            BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 0, EvalEvery = 0, LogEvery = 0, EmaDecay = 0.9,
        }, train: data);
        var ema = trainer.EmaModel!;
        Tensor[] Snapshot(nn.Module m) => m.parameters().Select(p => p.detach().clone()).ToArray();
        trainer.TrainStepOn();   // step 1: ActNorm's data init happens here; the average starts from these weights
        var w1 = Snapshot(model);
        Assert.All(ema.parameters().Zip(w1), t => Assert.True((t.First - t.Second).abs().max().item<float>() == 0));
        trainer.TrainStepOn();
        var w2 = Snapshot(model);
        Assert.All(ema.parameters().Zip(w1.Zip(w2)), t =>
            Assert.True((t.First - (0.9 * t.Second.First + 0.1 * t.Second.Second)).abs().max().item<float>() < 1e-6));
        Assert.True(w1.Zip(w2).Any(t => (t.First - t.Second).abs().max().item<float>() > 0), "the weights did not move");
        // evaluation measures the averaged weights
        Seeding.Set(5); double direct = FlowTrainer.EvaluateBitsPerDim(ema, data);
        Seeding.Set(5); double viaTrainer = trainer.Evaluate(data)["test_bpd"];
        Assert.Equal(direct, viaTrainer, 6);
    }

    [Fact]
    public void ManyStepsDoNotGrowTheLiveTensorCountAndTheLossFalls()
    {
        Seeding.Set(11);
        using var data = TinyData();
        using var heldOut = TinyData(32, seed: 2);   // the same distribution, other images
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, new FlowTrainConfig
        {
            BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 10, EvalEvery = 0, LogEvery = 0,
            EmaDecay = 0.99,
        }, train: data);
        double first = trainer.TrainStepOn()["train_bpd"];
        for (int i = 0; i < 9; i++) trainer.TrainStepOn();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        double last = 0;
        // 100 steps, not 1,000: the suite must stay fast on 2 shared cores; a per-step leak shows after one step.
        for (int i = 0; i < 100; i++) last = trainer.TrainStepOn()["train_bpd"];
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(110, trainer.Step);
        Assert.True(last < first - 0.2, $"train bpd went from {first} to {last}");
        double test = trainer.Evaluate(heldOut)["test_bpd"];
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(double.IsFinite(test) && test < first - 0.2, $"held-out bpd {test}, first train bpd {first}");
    }

    [Fact]
    public void NaNLossStopsWithTheStepNumber()
    {
        Seeding.Set(12);
        using var data = TinyData();
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, new FlowTrainConfig { BatchSize = 16 }, train: data);
        trainer.TrainStepOn();
        trainer.TrainStepOn();
        using (no_grad()) model.parameters().First(p => p.requires_grad).fill_(double.NaN);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStepOn());
        Assert.Equal(2, ex.Step);   // the 0-based index of the failing step, as every trainer reports it
        Assert.Contains("step 2", ex.Message);
        Assert.Equal(2, trainer.Step);
    }

    [Fact]
    public void RunLogsTrainAndHeldOutBitsPerDimAndWarmsUpLinearly()
    {
        Seeding.Set(13);
        using var data = TinyData();
        // black held-out images: far from the training data's statistics, so their bits/dim is far from the training set's
        using var heldOut = new ImageDataset("tiny-black", zeros(32, 1, 4, 4, dtype: ScalarType.Byte));
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, new FlowTrainConfig
        {
            Steps = 10, BatchSize = 16, WarmupSteps = 10, LearningRate = 1e-3, LogEvery = 5, EvalEvery = 5, EvalLimit = 32,
        }, train: data, test: heldOut);
        Assert.Equal(1e-4, trainer.LearningRateAt(0), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(9), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(100), 12);
        var seen = new List<long>();
        var log = trainer.Run(onLog: l => seen.Add(l.LastStep));
        // what Run logged at its last step (read before this test evaluates anything: Evaluate logs too)
        double logged = log.Series("test_bpd").Values[^1];
        Assert.Equal(new long[] { 5, 10 }, log.Series("train_bpd").Steps);
        Assert.Equal(new long[] { 5, 10 }, log.Series("test_bpd").Steps);
        Assert.Equal(new long[] { 5, 10 }, seen);
        Assert.Equal(Enumerable.Range(5, 5).Average(i => trainer.LearningRateAt(i)), log.Last("lr")!.Value, 12);   // the interval's mean
        // the logged test_bpd is the held-out set's, not the training set's
        Seeding.Set(21); double onHeldOut = FlowTrainer.EvaluateBitsPerDim(model, heldOut, 32);
        Seeding.Set(21); double onTrain = FlowTrainer.EvaluateBitsPerDim(model, data, 32);
        Seeding.Set(22); double noise = Math.Abs(FlowTrainer.EvaluateBitsPerDim(model, heldOut, 32) - onHeldOut);   // another noise draw
        Assert.True(Math.Abs(onTrain - onHeldOut) > 0.1 && noise < 0.01, $"held-out {onHeldOut:F4} vs train {onTrain:F4}, noise {noise:F4}: the sets must tell apart");
        Seeding.Set(21); Assert.Equal(onHeldOut, trainer.Evaluate(heldOut, 32)["test_bpd"], 6);
        // is the held-out set's bits/dim, within the dequantization noise
        Assert.True(Math.Abs(logged - onHeldOut) < 0.03 && Math.Abs(logged - onTrain) > 0.07,
            $"Run logged test_bpd {logged:F3}; held-out {onHeldOut:F3}, train {onTrain:F3}");
    }

    [Fact]
    public void RunStopsWhenCancelledAndCheckpointsResumeTheStepAndWeights()
    {
        Seeding.Set(14);
        using var data = TinyData();
        var config = new FlowTrainConfig { Steps = 50, BatchSize = 16, WarmupSteps = 0, LogEvery = 1, EvalEvery = 0 };
        using var trainer = new FlowTrainer(TinyGlow(), config, train: data);
        using var cancel = new CancellationTokenSource();
        trainer.Run(onLog: l => { if (l.LastStep == 3) cancel.Cancel(); }, cancel: cancel.Token);
        Assert.Equal(3, trainer.Step);
        var path = Path.Combine(Path.GetTempPath(), $"flow-{Guid.NewGuid():N}.safetensors");
        try
        {
            trainer.Save(path);
            using var other = new FlowTrainer(TinyGlow(), config, train: data);
            Assert.Equal(3, other.Load(path).Step);
            Assert.Equal(3, other.Step);
            Assert.Equal(new long[] { 1, 2, 3 }, other.Log.Series("train_bpd").Steps);
            Assert.All(trainer.Model.parameters().Zip(other.Model.parameters()), t => Assert.True(t.First.equal(t.Second).all().item<bool>()));
            // the next steps match: same data position and random stream
            Seeding.Set(3); var a = trainer.TrainStepOn()["train_bpd"];
            Seeding.Set(3); var b = other.TrainStepOn()["train_bpd"];
            Assert.Equal(a, b);
        }
        finally { File.Delete(path); File.Delete(Trainer.LogPathFor(path)); }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void EvaluateLeavesTheModelInTheModeItWasIn(bool training, bool throws)
    {
        Seeding.Set(15);
        using var data = TinyData(throws ? 8 : 16);
        using var wrongShape = new ImageDataset("3x4x4", zeros(new long[] { 8, 3, 4, 4 }, dtype: ScalarType.Byte));
        var model = TinyGlow();
        using var trainer = new FlowTrainer(model, new FlowTrainConfig { BatchSize = 8, WarmupSteps = 0 }, train: data);
        trainer.TrainStepOn();
        model.train(training);
        if (throws) Assert.ThrowsAny<Exception>(() => trainer.Evaluate(wrongShape));
        else trainer.Evaluate(data);
        Assert.Equal(training, model.training);
    }
}
