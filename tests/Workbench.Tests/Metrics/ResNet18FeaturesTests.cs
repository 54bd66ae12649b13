using Workbench.Data;
using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

/// <summary>The ImageNet ResNet-18 from Microsoft.ML.DnnImageFeaturizer.ResNet18, run by ONNX Runtime.</summary>
public class ResNet18FeaturesTests
{
    [Fact]
    public void TheModelsAreCopiedBesideTheLibraryAndGive512PooledFeatures()
    {
        Assert.True(File.Exists(Path.Combine(ResNet18Features.DefaultModelFolder, "ResNet18Onnx", "ResNet18.onnx")));
        using var scope = NewDisposeScope();
        using var net = new ResNet18Features();
        using var faces = ProceduralFaces.Generate(3, 32, seed: 5);
        var f = net.Extract(faces.Images);
        Assert.Equal(new long[] { 3, ResNet18Features.FeatureCount }, f.shape);
        // Global average pooling of ReLU outputs: non-negative, and different images give different features.
        Assert.True(f.min().item<float>() >= 0);
        Assert.True((f[0] - f[1]).abs().max().item<float>() > 1e-3);
        Assert.True(net.LastImagesPerSecond > 0);
    }

    [Fact]
    public void BatchingDoesNotChangeTheFeatures()
    {
        using var scope = NewDisposeScope();
        using var net = new ResNet18Features();
        using var faces = ProceduralFaces.Generate(3, 32, seed: 6);
        var calls = new List<long>();
        var one = net.Extract(faces.Images, batchSize: 1, progress: (done, total) => calls.Add(done));
        var all = net.Extract(faces.Images, batchSize: 2);
        Assert.Equal(new long[] { 1, 2, 3 }, calls);
        Assert.True(allclose(one, all, rtol: 1e-5, atol: 1e-5), "per-image and batched features differ");
    }

    [Fact]
    public void GrayscaleIsReplicatedToThreeChannels()
    {
        using var scope = NewDisposeScope();
        using var net = new ResNet18Features();
        var gray = randint(0, 256, new long[] { 2, 1, 28, 28 }, generator: new Generator().manual_seed(1)).to(ScalarType.Byte);
        var a = net.Extract(gray);
        var b = net.Extract(gray.expand(-1, 3, -1, -1).contiguous());
        Assert.True(allclose(a, b, rtol: 1e-5, atol: 1e-5));
        var input = ResNet18Features.ToNetworkInput(gray);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, input.shape);
        Assert.InRange(input.max().item<float>(), 200, 255);
    }
}
