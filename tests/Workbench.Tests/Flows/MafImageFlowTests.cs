using TorchSharp;
using Workbench.Flows;
using Workbench.Metrics;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

public class MafImageFlowTests
{
    static MafImageFlow Tiny()
    {
        var flow = new MafImageFlow(MafConfig.Small with { ImageChannels = 1, ImageSize = 2, Mades = 2, Hidden = 8, Lambda = 0.05 });
        flow.to(float64);
        Perturb(flow, 0.3);
        return flow;
    }

    /// <summary>The density of a continuous image is the standard normal at u plus log|det ∂u/∂x| of the whole map (logit
    /// transform and MAF), against the brute-force Jacobian; decoding inverts encoding to 1e-5.</summary>
    [Fact]
    public void TheDensityIsTheChangeOfVariablesOfTheWholeMapAndDecodeInvertsEncode()
    {
        Seeding.Set(250);
        using var scope = NewDisposeScope();
        var flow = Tiny();
        var x = rand(3, 1, 2, 2, dtype: float64) * 0.9 + 0.05;
        var logp = flow.call(x);
        for (long b = 0; b < 3; b++)
        {
            var xb = x.narrow(0, b, 1);
            var jacobian = Jacobian(v => flow.Encode(v).U, xb);
            double expected = BitsPerDim.StandardNormalLogDensity(flow.Encode(xb).U).item<double>() + LogAbsDet(jacobian);
            Assert.Equal(expected, logp[b].item<double>(), 6);
        }
        Assert.True((flow.Decode(flow.Encode(x).U) - x).abs().max().item<double>() < 1e-5);
        Assert.True(flow.Encode(x).LogDet.abs().min().item<double>() > 1e-3, "the logit transform alone changes volume");
    }

    /// <summary>The dequantized likelihood costs D log 256 nats more than the density on [0, 1)^D: a flow whose density is
    /// close to uniform on the unit cube scores close to 8 bits/dim.</summary>
    [Fact]
    public void UniformNoiseAndTheScaleBy256GiveBitsPerDimOnTheDiscreteImages()
    {
        Seeding.Set(251);
        using var scope = NewDisposeScope();
        var flow = Tiny();
        var images = randint(0, 256, new long[] { 4, 1, 2, 2 }).to(ScalarType.Byte);
        Seeding.Set(9);
        var lp = flow.LogProb(images);
        Seeding.Set(9);
        var x = (images.to(float64) + rand(images.shape, dtype: float64)) / 256.0;
        Assert.True((lp - (flow.call(x) - 4 * Math.Log(256))).abs().max().item<double>() < 1e-9);
        var samples = flow.Sample(5, temperature: 0.5);
        Assert.Equal(new long[] { 5, 1, 2, 2 }, samples.shape);
        Assert.Equal(ScalarType.Byte, samples.dtype);
    }
}
