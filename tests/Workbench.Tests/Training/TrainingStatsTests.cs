using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

[Collection(GlobalRngCollection.Name)]
public class TrainingStatsTests
{
    [Fact]
    public void EachSeriesIsTheMeanOverTheStepsThatReportedItAndAFailedStepCountsNothing()
    {
        var stats = new TrainingStats();
        void Step(params (string Name, double Value)[] reports)
        {
            stats.BeginStep();
            foreach (var (n, v) in reports) stats.Report(n, v);
            stats.EndStep();
        }
        Step(("loss", 1), ("lr", 0.1));
        Step(("loss", 3), ("lr", 0.2), ("r1", 10));   // a lazy regulariser's step
        stats.BeginStep();
        stats.Report("loss", 1000);                    // a step that threw before EndStep
        stats.Report("r1", 1000);
        Step(("loss", 5), ("lr", 0.3));
        var row = stats.Reduce();
        Assert.Equal(new[] { ("loss", 3.0), ("lr", 0.2), ("r1", 10.0) }, row.Select(r => (r.Name, Math.Round(r.Value, 12))));
        Assert.False(stats.Pending);
        Assert.Empty(stats.Reduce());
    }

    [Fact]
    public void TheOpenIntervalSurvivesACheckpointSoAResumedRunLogsTheSameRows()
    {
        using var data = new ImageDataset("tiny", randint(0, 256, new long[] { 64, 1, 4, 4 }, generator: new Generator(0)).to(ScalarType.Byte));
        var config = new FlowTrainConfig { Steps = 10, BatchSize = 8, WarmupSteps = 0, LogEvery = 4, EvalEvery = 0 };
        FlowTrainer New()
        {
            Seeding.Set(3);
            return new FlowTrainer(new Glow(GlowConfig.Small with { Levels = 1, StepsPerLevel = 1, HiddenChannels = 4 }, 1, 4, 4), config, train: data);
        }

        using var straight = New();
        straight.Run();
        var path = Path.Combine(Path.GetTempPath(), $"stats-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var first = New())
            {
                first.Run(new RunOptions { Until = 6 });   // mid-interval: steps 5 and 6 are reported, not logged
                first.Save(path);
            }
            using var resumed = New();
            resumed.Load(path);
            resumed.Run();
            var (s1, v1) = straight.Log.Series("train_bpd");
            var (s2, v2) = resumed.Log.Series("train_bpd");
            Assert.Equal(new long[] { 4, 8, 10 }, s1);
            Assert.Equal(s1, s2);
            Assert.Equal(v1, v2);
        }
        finally { File.Delete(path); File.Delete(Trainer.LogPathFor(path)); }
    }
}
