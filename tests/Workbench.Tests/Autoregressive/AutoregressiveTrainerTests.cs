using TorchSharp;
using Workbench.Autoregressive;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Autoregressive;

// Seeded comparisons: no other test may draw from the global generator meanwhile.
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class AutoregressiveTrainerTests
{
    const int Size = 6;

    /// <summary>Images that are all black (label 0) or all white (label 1), in a fixed random order.</summary>
    static ImageDataset BlackOrWhite(int n, int seed)
    {
        var gen = new Random(seed);
        var labels = Enumerable.Range(0, n).Select(_ => (long)gen.Next(2)).ToArray();
        var bytes = labels.SelectMany(l => Enumerable.Repeat(l == 0 ? (byte)0 : (byte)255, Size * Size)).ToArray();
        return new ImageDataset("black-or-white", tensor(bytes).view(n, 1, Size, Size), tensor(labels));
    }

    static PixelCnn TinyPixelCnn() =>
        new(PixelCnnConfig.Small with { ImageChannels = 1, ImageSize = Size, Features = 8, ResidualBlocks = 1, FirstKernel = 5, OutputFeatures = 16 });

    [Fact]
    public void TheLossFallsWithoutGrowingLiveTensorsAndTheLearningRateDecaysEveryStep()
    {
        Seeding.Set(31);
        using var data = BlackOrWhite(64, 1);
        using var trainer = new AutoregressiveTrainer(TinyPixelCnn(), new AutoregressiveTrainConfig
        {
            BatchSize = 16, LearningRate = 1e-2, LearningRateDecay = 0.99, EmaDecay = null, LogEvery = 1, EvalEvery = 0,
        }, train: data);
        double first = trainer.TrainStepOn()["train_bpd"];
        Assert.InRange(first, 6, 10);   // near the uniform model's 8 bits/dim at the start
        for (int i = 0; i < 4; i++) trainer.TrainStepOn();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        double last = 0;
        for (int i = 0; i < 55; i++) last = trainer.TrainStepOn()["train_bpd"];
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(last < 1, $"train bpd went from {first} to {last}");
        // the logged learning rate is lr0 * decay^step of each step
        var lr = trainer.Log.Series("lr");
        Assert.Equal(1e-2, lr.Values[0], 12);
        Assert.Equal(1e-2 * Math.Pow(0.99, 59), lr.Values[59], 12);
        using var heldOut = BlackOrWhite(16, 2);
        Assert.True(trainer.Evaluate(heldOut)["test_bpd"] < 1);
    }

    [Fact]
    public void AConditionalModelIsTrainedOnItsBatchesLabels()
    {
        Seeding.Set(32);
        using var data = BlackOrWhite(64, 3);
        var model = new GatedPixelCnn(GatedPixelCnnConfig.Small with
        {
            ImageChannels = 1, ImageSize = Size, Features = 8, Layers = 2, Kernel = 3, OutputFeatures = 16, Classes = 2,
        });
        using var trainer = new AutoregressiveTrainer(model, new AutoregressiveTrainConfig
        {
            BatchSize = 16, LearningRate = 1e-2, LearningRateDecay = 1, EmaDecay = null, LogEvery = 0, EvalEvery = 0,
        }, train: data);
        for (int i = 0; i < 100; i++) trainer.TrainStepOn();
        // the first pixel of an image can only be predicted from its label: black under label 0, white under label 1
        using var black = zeros(new long[] { 1, 1, Size, Size }, ScalarType.Byte);
        using var white = full(new long[] { 1, 1, Size, Size }, 255, ScalarType.Byte);
        using var zero = tensor(new long[] { 0 });
        using var one = tensor(new long[] { 1 });
        using var _ = no_grad();
        double Lp(Tensor x, Tensor y) => EvalMode.Run(model, () => model.LogProb(x, y).item<float>());
        Assert.True(Lp(black, zero) - Lp(black, one) > 2, $"log p(black | 0) = {Lp(black, zero)}, log p(black | 1) = {Lp(black, one)}");
        Assert.True(Lp(white, one) - Lp(white, zero) > 2, $"log p(white | 1) = {Lp(white, one)}, log p(white | 0) = {Lp(white, zero)}");
    }

    [Fact]
    public void ACheckpointResumesTheStepTheWeightsTheAverageAndTheNextStep()
    {
        Seeding.Set(33);
        using var data = BlackOrWhite(64, 4);
        var config = new AutoregressiveTrainConfig { Steps = 10, BatchSize = 8, LearningRate = 5e-3, EmaDecay = 0.9, LogEvery = 1, EvalEvery = 0 };
        var plus = PixelCnnPlusPlusConfig.Small with { ImageChannels = 1, ImageSize = Size, Features = 8, Scales = 2, Mixtures = 2 };
        using var trainer = new AutoregressiveTrainer(PixelModels.Create(plus), config, train: data);
        for (int i = 0; i < 3; i++) trainer.TrainStepOn();
        var path = Path.Combine(Path.GetTempPath(), $"pixelcnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            trainer.Save(path);
            using var other = new AutoregressiveTrainer(PixelModels.Create(plus), config, train: data);
            Assert.Equal(3, other.Load(path).Step);
            Assert.Equal(new long[] { 1, 2, 3 }, other.Log.Series("train_bpd").Steps);
            foreach (var (a, b) in new[] { (trainer.Model, other.Model), (trainer.InferenceModel, other.InferenceModel) })
                Assert.All(a.parameters().Zip(b.parameters()), t => Assert.True(t.First.equal(t.Second).all().item<bool>()));
            Assert.False(ReferenceEquals(trainer.Model, trainer.InferenceModel));
            // the next steps match: same data position, random stream (dropout) and optimizer state
            Seeding.Set(3); var x = trainer.TrainStepOn()["train_bpd"];
            Seeding.Set(3); var y = other.TrainStepOn()["train_bpd"];
            Assert.Equal(x, y);
        }
        finally { File.Delete(path); File.Delete(Trainer.LogPathFor(path)); }
    }

    [Fact]
    public void DataOfTheWrongShapeOrWithoutLabelsIsRefusedByName()
    {
        using var data = BlackOrWhite(8, 5);
        var e = Assert.Throws<ArgumentException>(() => new AutoregressiveTrainer(PixelModels.Create(PixelCnnConfig.Small), new AutoregressiveTrainConfig(), train: data));
        Assert.Contains("black-or-white images are 1x6x6, the model expects 3x16x16", e.Message);
        using var unlabelled = new ImageDataset("unlabelled", data.Images);
        var conditional = PixelModels.Create(GatedPixelCnnConfig.Small with { ImageChannels = 1, ImageSize = Size, Classes = 2 });
        e = Assert.Throws<ArgumentException>(() => new AutoregressiveTrainer(conditional, new AutoregressiveTrainConfig(), train: unlabelled));
        Assert.Contains("conditioned on 2 classes and unlabelled has no labels", e.Message);
    }
}
