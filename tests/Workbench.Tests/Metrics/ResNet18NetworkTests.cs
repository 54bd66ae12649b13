using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

/// <summary>The ONNX ResNet-18 run by TorchSharp (<see cref="OnnxGraph"/>) against ONNX Runtime on the same files.</summary>
public class ResNet18NetworkTests
{
    [Fact]
    public void FeaturesEqualOnnxRuntimesAndHaveGradients()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var images = (rand(new long[] { 3, 3, 32, 32 }) * 255).round().to(ScalarType.Byte);
        images[1] = images[1] / 2;   // darker, another part of the input range
        using var onnx = new ResNet18Features(threads: 1);
        var expected = onnx.Extract(images);
        using var network = new ResNet18Network();
        Tensor actual;
        using (no_grad()) actual = network.call(images.to(ScalarType.Float32));
        Assert.Equal(new long[] { 3, ResNet18Features.FeatureCount }, actual.shape);
        double scale = expected.abs().max().item<float>();
        double error = (actual - expected).abs().max().item<float>();
        Assert.True(error < 1e-4 * scale, $"max |torch - onnxruntime| = {error} (feature scale {scale})");

        // differentiable: the gradient of a feature with respect to the input pixels is finite and not all zero
        var x = (images.to(ScalarType.Float32)[..1]).requires_grad_();
        network.call(x).sum().backward();
        Assert.True(x.grad!.isfinite().all().item<bool>());
        Assert.True(x.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void ASmallerInputSideStillGivesPooledFeatures()
    {
        using var scope = NewDisposeScope();
        using var network = new ResNet18Network(inputSide: 64);
        using var _ = no_grad();
        var f = network.call(rand(new long[] { 2, 1, 28, 28 }) * 255);
        Assert.Equal(new long[] { 2, ResNet18Features.FeatureCount }, f.shape);
        Assert.True(f.isfinite().all().item<bool>());
        Assert.Throws<ArgumentException>(() => new ResNet18Network(inputSide: 112));   // 112 → 7 → odd: the branches would differ
    }
}
