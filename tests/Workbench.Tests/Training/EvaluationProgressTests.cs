using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Training;

/// <summary>Held-out evaluations report their progress and stop when asked, through <see cref="EvaluationProgress"/>.</summary>
public class EvaluationProgressTests
{
    static (FlowTrainer Trainer, ImageDataset Test) Tiny()
    {
        Seeding.Set(0);
        var glow = new Glow(GlowConfig.Small with { Levels = 1, StepsPerLevel = 1, HiddenChannels = 4 }, 1, 4, 4);
        var trainer = new FlowTrainer(glow, new FlowTrainConfig { BatchSize = 4, EvalBatchSize = 8 });
        var test = new ImageDataset("toy/test", randint(0, 256, new long[] { 40, 1, 4, 4 }, dtype: ScalarType.Byte));
        return (trainer, test);
    }

    [Fact]
    public void AnEvaluationReportsEveryBatchUpToItsExamples()
    {
        var (trainer, test) = Tiny();
        var reports = new List<(long Done, long Total)>();
        using (EvaluationProgress.Begin((d, t) => reports.Add((d, t))))
            trainer.Evaluate(test, limit: 36);
        Assert.Equal(new long[] { 8, 16, 24, 32, 36 }, reports.Select(r => r.Done));
        Assert.All(reports, r => Assert.Equal(36, r.Total));
        trainer.Evaluate(test, limit: 36);   // outside the scope: no reports, no failure
        Assert.Equal(5, reports.Count);
    }

    [Fact]
    public void ACancelledEvaluationStopsAtTheNextBatch()
    {
        var (trainer, test) = Tiny();
        using var cancel = new CancellationTokenSource();
        int reports = 0;
        using (EvaluationProgress.Begin((_, _) => { reports++; cancel.Cancel(); }, cancel.Token))
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Evaluate(test));
        Assert.Equal(1, reports);
        Assert.NotNull(trainer.Evaluate(test));   // the scope is gone: evaluations run again
    }

    [Fact]
    public void TheCommandLinesEvaluationReturnsNullWhenInterrupted()
    {
        var (trainer, test) = Tiny();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Null(Workbench.Cli.TrainCommand.Evaluate(trainer, test, null, "held-out evaluation", cancel.Token));
        Assert.NotNull(Workbench.Cli.TrainCommand.Evaluate(trainer, test, null, "held-out evaluation", CancellationToken.None));
    }
}
