using Workbench.Metrics;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

/// <summary>StyleGAN §3's perceptual path length: the interpolations, the 1/ε² scaling and the outlier filter.</summary>
public class PerceptualPathLengthTests
{
    [Fact]
    public void SlerpMovesAlongTheGreatCircleAtConstantAngularSpeed()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var a = randn(new long[] { 5, 16 }, dtype: ScalarType.Float64);
        var b = randn(new long[] { 5, 16 }, dtype: ScalarType.Float64) * 3;
        var an = a / a.norm(1, keepdim: true);
        var bn = b / b.norm(1, keepdim: true);
        var theta = (an * bn).sum(1).acos();
        Assert.True(PerceptualPathLength.Slerp(a, b, zeros(5, 1, dtype: ScalarType.Float64)).allclose(an, 1e-12, 1e-12));
        Assert.True(PerceptualPathLength.Slerp(a, b, ones(5, 1, dtype: ScalarType.Float64)).allclose(bn, 1e-12, 1e-12));
        var t = tensor(new[] { 0.1, 0.3, 0.5, 0.7, 0.9 }, dtype: ScalarType.Float64).reshape(5, 1);
        var p = PerceptualPathLength.Slerp(a, b, t);
        Assert.True(p.norm(1).allclose(ones(5, dtype: ScalarType.Float64), 1e-12, 1e-12));
        // the angle from a is t·θ and the angle to b is (1 − t)·θ: on the great circle, at constant speed
        Assert.True((p * an).sum(1).acos().allclose(t.squeeze(1) * theta, 1e-9, 1e-9));
        Assert.True((p * bn).sum(1).acos().allclose((1 - t.squeeze(1)) * theta, 1e-9, 1e-9));
    }

    [Fact]
    public void ScaledDistanceOfALinearGeneratorIsItsSquaredDerivativeAlongThePath()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var m = randn(new long[] { 8, 12 }, dtype: ScalarType.Float64);
        var a = randn(new long[] { 6, 8 }, dtype: ScalarType.Float64);
        var b = randn(new long[] { 6, 8 }, dtype: ScalarType.Float64);
        var t = rand(new long[] { 6, 1 }, dtype: ScalarType.Float64);
        Func<Tensor, Tensor> identity = x => x;

        // W: lerp, so x(t) = (a + t(b − a))M and d/ε² = |(b − a)M|² for any ε
        var w = PerceptualPathLength.ScaledDistances(x => x.matmul(m), identity, a, b, t, PathSpace.W);
        Assert.True(w.allclose((b - a).matmul(m).square().sum(1), 1e-6, 1e-9));

        // Z: slerp on the unit sphere moves at angular speed θ, so d/ε² → θ² as ε → 0 (here within O(ε))
        var an = a / a.norm(1, keepdim: true);
        var bn = b / b.norm(1, keepdim: true);
        var theta = (an * bn).sum(1).acos();
        var z = PerceptualPathLength.ScaledDistances(identity, identity, a, b, t, PathSpace.Z);
        Assert.True(z.allclose(theta.square(), 1e-3, 1e-9));
    }

    [Fact]
    public void TheMeanLeavesOutTheOnePercentTails()
    {
        var values = Enumerable.Range(0, 100).Select(i => (double)i).Append(1e9).ToArray();   // 101 values, one outlier
        var r = PerceptualPathLength.Summarise(values);
        Assert.Equal(101, r.Pairs);
        Assert.Equal(99, r.Kept);                    // 0 and 1e9 fall outside [1st, 99th] percentile = [1, 99]
        Assert.Equal(50.0, r.Mean, 12);
    }

    [Fact]
    public void MeasureOnATinyGeneratorIsFinitePositiveAndRepeatable()
    {
        using var g = new StyleGan2Generator(ComponentTests.TinyConfig(8));
        using var resnet = new ResNet18Features(threads: 1);
        var first = PerceptualPathLength.Measure(g, resnet, 6, PathSpace.W, PathSampling.End, seed: 1, batchSize: 4);
        var again = PerceptualPathLength.Measure(g, resnet, 6, PathSpace.W, PathSampling.End, seed: 1, batchSize: 4);
        Assert.Equal(6, first.Pairs);
        Assert.True(double.IsFinite(first.Mean) && first.Mean > 0, $"PPL {first.Mean}");
        Assert.Equal(first.Mean, again.Mean, 9);
        var z = PerceptualPathLength.Measure(g, resnet, 6, PathSpace.Z, PathSampling.Full, crop: true, seed: 1, batchSize: 4);
        Assert.True(double.IsFinite(z.Mean) && z.Mean > 0, $"PPL {z.Mean}");
    }
}
