using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Flows;

public class ComponentTests
{
    [Fact]
    public void ActNormInitialisesToZeroMeanUnitVarianceAndTheFlagSurvivesStateDict()
    {
        Seeding.Set(7);
        using var scope = NewDisposeScope();
        var an = new ActNorm(3);
        Assert.False(an.IsInitialized);
        var x = randn(8, 3, 5, 5) * tensor(new float[] { 0.1f, 2f, 5f }).view(1, 3, 1, 1) + tensor(new float[] { -1f, 0f, 3f }).view(1, 3, 1, 1);
        var (y, _) = an.Forward(x);
        Assert.True(an.IsInitialized);
        var mean = y.mean(new long[] { 0, 2, 3 });
        var std = y.transpose(0, 1).reshape(3, -1).std(1, unbiased: false);
        Assert.True(mean.abs().max().item<float>() < 1e-4, "per-channel mean after init");
        Assert.True((std - 1).abs().max().item<float>() < 1e-3, "per-channel std after init");
        // A second batch does not re-initialise.
        var before = an.Bias.clone();
        an.Forward(x * 3 + 1);
        Assert.Equal(0f, (an.Bias - before).abs().max().item<float>());

        var sd = an.state_dict();
        Assert.Contains("initialized", sd.Keys);
        var loaded = new ActNorm(3);
        loaded.load_state_dict(sd);
        Assert.True(loaded.IsInitialized);
        var (y2, _) = loaded.Forward(x * 3 + 1); // must not re-initialise on this batch
        Assert.True((y2 - an.Forward(x * 3 + 1).Y).abs().max().item<float>() < 1e-6);
    }

    [Fact]
    public void LuAndPlainInvertibleConvAgreeForTheSameWeight()
    {
        Seeding.Set(8);
        using var scope = NewDisposeScope();
        var w = randn(6, 6, dtype: float64);
        var plain = new InvertibleConv1x1(w);
        var lu = new InvertibleConv1x1LU(w);
        Assert.True((lu.Weight() - w).abs().max().item<double>() < 1e-12, "P L (U + diag s) must rebuild W");
        var x = randn(2, 6, 3, 3, dtype: float64);
        var (y1, ld1) = plain.Forward(x);
        var (y2, ld2) = lu.Forward(x);
        Assert.True((y1 - y2).abs().max().item<double>() < 1e-10);
        Assert.True((ld1 - ld2).abs().max().item<double>() < 1e-10);
        Assert.True((lu.Inverse(y2) - x).abs().max().item<double>() < 1e-10);
    }

    [Fact]
    public void RandomRotationInitHasUnitDeterminant()
    {
        Seeding.Set(9);
        using var scope = NewDisposeScope();
        var conv = new InvertibleConv1x1(8);
        var (_, ld) = conv.Forward(randn(1, 8, 2, 2));
        Assert.True(Math.Abs(ld.item<float>()) < 1e-4);
        var w = conv.Weight;
        Assert.True((w.matmul(w.t()) - eye(8)).abs().max().item<float>() < 1e-5, "W must be orthogonal");
    }

    [Fact]
    public void ZeroInitialisedCouplingsStartAsTheirInitialForm()
    {
        Seeding.Set(10);
        using var scope = NewDisposeScope();
        var x = randn(2, 4, 3, 3);
        var (ya, lda) = AdditiveCoupling.ForImages(4, 16).Forward(x);
        Assert.Equal(0f, (ya - x).abs().max().item<float>());
        Assert.Equal(0f, lda.abs().max().item<float>());
        // Glow's affine coupling starts at scale sigmoid(2) on the transformed half, zero shift.
        var (yf, ldf) = AffineCoupling.ForImages(4, 16).Forward(x);
        float s = 1f / (1f + MathF.Exp(-2f));
        Assert.Equal(0f, (yf.narrow(1, 0, 2) - x.narrow(1, 0, 2)).abs().max().item<float>());
        Assert.True((yf.narrow(1, 2, 2) - x.narrow(1, 2, 2) * s).abs().max().item<float>() < 1e-6);
        Assert.True((ldf - 18 * MathF.Log(s)).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void PermutationsArePermutationsAndRejectBadInput()
    {
        using var scope = NewDisposeScope();
        var x = arange(4, dtype: float32).view(1, 4);
        Assert.Equal(new float[] { 3, 2, 1, 0 }, ChannelPermutation.Reverse(4).Forward(x).Y.data<float>().ToArray());
        var sh = ChannelPermutation.Shuffle(4, 1).Forward(x).Y.data<float>().ToArray();
        Assert.Equal(new float[] { 0, 1, 2, 3 }, sh.OrderBy(v => v).ToArray());
        Assert.Throws<ArgumentException>(() => new ChannelPermutation(new long[] { 0, 0, 1 }));
        var ex = Assert.Throws<ArgumentException>(() => ChannelPermutation.Reverse(4).Forward(zeros(1, 3)));
        Assert.Contains("[B, 4", ex.Message);
    }
}
