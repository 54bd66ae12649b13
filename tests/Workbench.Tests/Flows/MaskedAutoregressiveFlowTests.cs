using TorchSharp;
using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

public class MaskedAutoregressiveFlowTests(ITestOutputHelper output)
{
    [Fact]
    public void LogDetMatchesTheBruteForceJacobianAndTheInverseIsExact()
    {
        Seeding.Set(248);
        using var scope = NewDisposeScope();
        var maf = new MaskedAutoregressiveFlow(3, mades: 3, hidden: 16);
        maf.to(float64);
        Perturb(maf, 0.3);
        var x = randn(4, 3, dtype: float64);
        var (recon, logdet) = Check(maf, x);
        Assert.True(recon < 1e-5, $"inverse error {recon}");
        Assert.True(logdet < 1e-5, $"logdet error {logdet}");
        Assert.True(maf.Forward(x).LogDet.abs().max().item<double>() > 1e-3, "the perturbed flow should not be volume-preserving");
    }

    [Fact]
    public void ReplacesRealNvpOnA2DToyAndItsLikelihoodImproves()
    {
        Seeding.Set(249);
        using var scope = NewDisposeScope();
        var toy = Toy2D.Create("8gaussians");
        var flow = new Flow2D(Flow2DConfig.Maf with { Steps = 3, Hidden = 32 });
        var heldOut = toy.Sample(1000, seed: 7);
        double Nll() { using var _ = no_grad(); return -flow.LogProb(heldOut).mean().item<float>(); }
        double before = Nll();
        flow.Fit(n => toy.Sample(n), steps: 200, batchSize: 64, learningRate: 5e-3);
        double after = Nll();
        // the best single Gaussian (moments of the held-out points): a flow that only rescales cannot beat it
        var cov = heldOut.T.cov().to(float64);
        double gaussian = 1 + Math.Log(2 * Math.PI) + 0.5 * linalg.slogdet(cov).Item2.item<double>();
        string report = $"held-out NLL {before:F3} → {after:F3} nats; best Gaussian {gaussian:F3}, entropy {toy.Entropy:F3}";
        output.WriteLine(report);
        Assert.True(after < before - 1.0 && after < gaussian - 0.3, report);
        // KL(p ‖ q) = NLL − H ≥ 0: a held-out NLL clearly below the entropy means the density is not normalised
        Assert.True(after > toy.Entropy!.Value - 0.2, report);
        Assert.Equal(new long[] { 5, 2 }, flow.Sample(5).shape);
    }
}
