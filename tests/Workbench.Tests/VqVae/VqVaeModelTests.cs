using TorchSharp;
using Workbench.Data;
using Workbench.Training;
using Workbench.VqVae;
using static TorchSharp.torch;
using VqVaeModel = Workbench.VqVae.VqVae;

namespace Workbench.Tests.VqVae;

// Seeded training steps: no other test may draw from the global generator meanwhile.
[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class VqVaeModelTests
{
    /// <summary>Smooth blobs, uint8 [n, 1, side, side]: something an autoencoder can learn in a few steps.</summary>
    static Tensor Blobs(int n, int side, long seed)
    {
        using var g = new Generator((ulong)seed);
        var centres = rand(new long[] { n, 2, 1, 1 }, generator: g) * side;
        var widths = rand(new long[] { n, 1, 1, 1 }, generator: g) * side / 4 + 2;
        var grid = arange(side, float32);
        var dy = grid.reshape(1, side, 1) - centres[.., 0];
        var dx = grid.reshape(1, 1, side) - centres[.., 1];
        var img = exp(-(dy.pow(2) + dx.pow(2)) / (2 * widths.squeeze(1).pow(2)));
        return (img * 255).round().to(ScalarType.Byte).unsqueeze(1);
    }

    static VqVaeConfig Tiny(int size = 16) => VqVaeConfig.Small with
    {
        ImageSize = size, Hidden = 16, ResidualHidden = 8, ResidualBlocks = 1, Codes = 16, CodeDim = 4,
        PriorEmbedding = 4, PriorFeatures = 8, PriorResidualBlocks = 1, PriorFirstKernel = 3, PriorOutputFeatures = 8,
    };

    [Fact]
    public void ReconstructionLossFallsInAFewSteps()
    {
        Seeding.Set(2421);
        using var scope = NewDisposeScope();
        var model = new VqVaeModel(Tiny() with { DeadCodeRestart = true });
        var x = Preprocess.ToSigned(Blobs(16, 16, 1));
        var opt = optim.Adam(model.parameters().Where(p => p.requires_grad), 3e-3);
        double first = 0, last = 0;
        model.train();
        for (int step = 0; step < 40; step++)
        {
            using var s = NewDisposeScope();
            opt.zero_grad();
            var o = model.call(x);
            o.Loss.backward();
            opt.step();
            double r = o.ReconstructionLoss.item<float>();
            if (step == 0) first = r;
            last = r;
        }
        Assert.True(last < 0.5 * first, $"reconstruction MSE went from {first:F4} to {last:F4} in 40 steps");
    }

    [Fact]
    public void TwoLevelModelReconstructsAtTheImageSizeAndTrainsBothLevels()
    {
        Seeding.Set(2422);
        using var scope = NewDisposeScope();
        var config = Tiny(28) with { Levels = 2 };
        Assert.Equal(new[] { 3, 7 }, config.CodeMapSides());
        var model = new VqVaeModel(config);
        var x = Preprocess.ToSigned(Blobs(2, 28, 2));
        var o = model.call(x);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, o.Reconstruction.shape);
        Assert.Equal(new long[] { 2, 3, 3 }, o.Codes[0].shape);
        Assert.Equal(new long[] { 2, 7, 7 }, o.Codes[1].shape);
        o.ReconstructionLoss.backward();
        // the reconstruction's gradient reaches the top encoder through the top level's straight-through estimator
        var topGrad = model.named_parameters().Where(p => p.name.StartsWith("topEncoder", StringComparison.Ordinal)).Select(p => p.parameter.grad is null ? 0f : p.parameter.grad.abs().sum().item<float>()).Sum();
        Assert.True(topGrad > 0, "no gradient reached the top encoder");
        using (no_grad())
        {
            var decoded = model.Decode(o.Codes);
            Assert.Equal(new long[] { 2, 1, 28, 28 }, decoded.shape);
        }
        var priors = new[] { model.NewPrior(0), model.NewPrior(1) };
        var (images, codes) = model.Generate(priors, 2);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, images.shape);
        Assert.Equal(new long[] { 2, 7, 7 }, codes[1].shape);
    }

    [Fact]
    public void TrainerRunsBothStagesWithTheAutoencoderFrozenForThePrior()
    {
        Seeding.Set(2423);
        using var scope = NewDisposeScope();
        using var train = new ImageDataset("blobs", Blobs(64, 16, 3));
        using var test = new ImageDataset("blobs-test", Blobs(16, 16, 4));
        var model = new VqVaeModel(Tiny());
        using var trainer = new VqVaeTrainer(model, new VqVaeTrainConfig { Steps = 6, PriorFraction = 0.5, BatchSize = 8, LearningRate = 1e-3, LogEvery = 1 }, train, test);
        for (int i = 0; i < 3; i++) trainer.TrainStepOn();
        Assert.Equal(3, trainer.Log.Series("recon_mse").Steps.Length);
        var frozen = model.parameters().Select(p => p.detach().clone()).ToList();
        var counts = model.Quantizers[0].ClusterSize.clone();
        double before = VqVaeTrainer.Evaluate(model, trainer.Priors, test, 16).PriorBitsPerCode!.Value;
        for (int i = 0; i < 3; i++) trainer.TrainStepOn();
        Assert.Equal(new long[] { 4, 5, 6 }, trainer.Log.Series("prior_bits").Steps);
        Assert.True(model.parameters().Zip(frozen).All(t => t.First.detach().eq(t.Second).all().item<bool>()), "stage 2 changed the VQ-VAE");
        Assert.True(counts.eq(model.Quantizers[0].ClusterSize).all().item<bool>(), "stage 2 changed the codebook's counts");
        Assert.Equal(trainer.PriorModule.parameters().Count(), trainer.Priors.Sum(p => p.parameters().Count()));
        var m = trainer.Evaluate(test);
        double after = VqVaeTrainer.Evaluate(model, trainer.Priors, test, 16).PriorBitsPerCode!.Value;
        Assert.True(after < before, $"the prior did not learn: held-out {before} -> {after} bits per code");
        foreach (var key in new[] { "test_mse", "test_perplexity", "test_codes_used", "test_decoder_bpd", "test_bpd_uniform", "test_prior_bits", "test_bpd" })
            Assert.True(m.ContainsKey(key) && double.IsFinite(m[key]), key);
        Assert.Equal(m["test_decoder_bpd"] + model.CodePositions * Math.Log2(16) / 256, m["test_bpd_uniform"], 9);
        Assert.Equal(m["test_decoder_bpd"] + model.CodePositions * m["test_prior_bits"] / 256, m["test_bpd"], 9);
        var samples = trainer.SampleImages(2);
        Assert.Equal(new long[] { 2, 1, 16, 16 }, samples.shape);
        Assert.Equal(ScalarType.Byte, samples.dtype);
    }
}
