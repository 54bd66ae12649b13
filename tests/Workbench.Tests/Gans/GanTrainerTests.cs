using TorchSharp;
using TorchSharp.Modules;
using Workbench.Data;
using Workbench.Gans;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Gans;

[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class GanTrainerTests
{
    static long OptimizerSteps(optim.Optimizer opt)
    {
        // the optimizer's own count (Adam's per-parameter "step"), independent of the trainer's bookkeeping
        var state = ((OptimizerHelper)opt).state_dict().State.First();
        return Convert.ToInt64(state.GetType().GetField("step")!.GetValue(state));
    }

    static GanTrainer ToyTrainer(GanConfig config, GanTrainConfig training, GaussianMixtureToy? toy = null)
    {
        var (g, d) = GanModels.Create(config);
        return new GanTrainer(g, d, training, toy ?? GaussianMixtureToy.Ring());
    }

    [Fact]
    public void EachStepTakesNCriticDiscriminatorStepsAndOneGeneratorStep()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        using var t = ToyTrainer(GanConfig.Toy with { Hidden = 8 }, GanTrainConfig.WganGp with { BatchSize = 16, LogEvery = 1 });
        for (int i = 0; i < 3; i++) t.TrainStepOn();
        Assert.Equal(15, OptimizerSteps(t.DOpt));
        Assert.Equal(3, OptimizerSteps(t.GOpt));
        Assert.Equal(15, t.DiscriminatorSteps);
        foreach (var key in new[] { "loss_d", "loss_g", "gp", "grad_norm_xhat", "d_real", "d_fake" })
            Assert.True(t.Log.Last(key) is not null, $"the log has no {key}");
    }

    [Fact]
    public void WganClipsEveryCriticParameterAfterEachStep()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        // a learning rate far above WGAN's, so unclipped weights would leave [−c, c] at once
        using var t = ToyTrainer(GanConfig.Toy with { Hidden = 8, Loss = GanLoss.Wasserstein },
            GanTrainConfig.Wgan with { BatchSize = 16, LearningRate = 0.05, LogEvery = 1 });
        for (int i = 0; i < 3; i++)
        {
            t.TrainStepOn();
            int atBound = 0;
            foreach (var (name, p) in t.D.named_parameters())
            {
                float m = p.abs().max().item<float>();
                Assert.True(m <= 0.01f + 1e-7f, $"step {i}: {name} reaches {m} > c = 0.01");
                if (m > 0.0099f) atBound++;
            }
            Assert.True(atBound > 0, "no parameter at the bound: the clip was never needed");
            Assert.True(t.Log.Last("wasserstein") is not null);
        }
    }

    [Fact]
    public void GradientPenaltyWithBatchNormInTheCriticIsRefused()
    {
        using var scope = NewDisposeScope();
        var (g, d) = GanModels.Create(GanConfig.Small with { Resolution = 8, Width = 4 });
        var e = Assert.Throws<ArgumentException>(() => new GanTrainer(g, d, GanTrainConfig.WganGp));
        Assert.Contains("DiscriminatorBatchNorm", e.Message);
    }

    [Fact]
    public void ATinyGanOnTheRingCoversMoreModesThanItsStart()
    {
        // the ring of 8 (radius 2, here σ = 0.25 so a run of seconds can reach 3σ); at initialisation the samples sit
        // near the origin and cover no mode
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var ring = GaussianMixtureToy.Ring(std: 0.25);
        using var t = ToyTrainer(GanConfig.Toy with { Hidden = 64, ZDim = 4 }, GanTrainConfig.Gan with { BatchSize = 64, LearningRate = 1e-3, LogEvery = 0 }, ring);
        var before = t.Modes(ring, 1000);
        for (int i = 0; i < 600; i++) t.TrainStepOn();
        var after = t.Modes(ring, 1000);
        Assert.True(after.Covered >= before.Covered + 4, $"before {before}, after {after}");
        Assert.True(after.HighQuality > before.HighQuality + 0.3, $"before {before}, after {after}");
    }

    [Fact]
    public void ADcganRunResumesExactlyFromItsCheckpoint()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(4);
        var images = randint(0, 256, new long[] { 40, 1, 8, 8 }, generator: gen).to(ScalarType.Byte);
        using var data = new ImageDataset("noise8", images, randint(0, 3, new long[] { 40 }, generator: gen));
        var config = GanConfig.Small with { Resolution = 8, Width = 4, ZDim = 8, Classes = 3 };
        var training = GanTrainConfig.Dcgan with { BatchSize = 8, LogEvery = 1, NCritic = 2 };
        GanTrainer Build()
        {
            var (g, d) = GanModels.Create(config);
            return new GanTrainer(g, d, training, data, seed: 5);
        }
        var path = Path.Combine(Directory.CreateTempSubdirectory("wb-gan").FullName, "run.safetensors");
        random.manual_seed(6);
        using var a = Build();
        for (int i = 0; i < 2; i++) a.TrainStepOn();
        a.Save(path);
        for (int i = 0; i < 2; i++) a.TrainStepOn();
        random.manual_seed(99);
        using var b = Build();
        b.Load(path);
        Assert.Equal(4, b.DiscriminatorSteps);
        for (int i = 0; i < 2; i++) b.TrainStepOn();
        foreach (var ((name, pa), (_, pb)) in a.G.named_parameters().Zip(b.G.named_parameters()))
            Assert.True((pa - pb).abs().max().item<float>() == 0, $"G.{name} differs after resuming");
        foreach (var ((name, pa), (_, pb)) in a.D.named_parameters().Zip(b.D.named_parameters()))
            Assert.True((pa - pb).abs().max().item<float>() == 0, $"D.{name} differs after resuming");
    }
}
