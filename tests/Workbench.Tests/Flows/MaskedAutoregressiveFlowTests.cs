using TorchSharp;
using Workbench.Data;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

public class MaskedAutoregressiveFlowTests
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
        flow.Fit(n => toy.Sample(n), steps: 300, batchSize: 128, learningRate: 3e-3);
        double after = Nll();
        Assert.True(after < before - 1.0, $"held-out NLL {before:F3} → {after:F3} nats");
        Assert.Equal(new long[] { 5, 2 }, flow.Sample(5).shape);
    }
}
