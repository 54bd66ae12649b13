using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

public class Flow2DTests
{
    [Theory]
    [InlineData(Coupling.Affine, Permutation.Reverse)]
    [InlineData(Coupling.Additive, Permutation.Conv1x1LU)]
    public void InvertsAndLogProbMatchesTheBruteForceJacobian(Coupling coupling, Permutation permutation)
    {
        Seeding.Set(14);
        using var scope = NewDisposeScope();
        var flow = new Flow2D(new Flow2DConfig { Steps = 4, Hidden = 16, Coupling = coupling, Permutation = permutation });
        flow.to(float64);
        var x = randn(5, 2, dtype: float64) * 2;
        flow.LogProb(x);
        Perturb(flow, 0.3);
        var (recon, logdet) = Check(flow.Flow, x);
        Assert.True(recon < 1e-5 && logdet < 1e-5, $"recon {recon}, logdet {logdet}");
    }

    [Fact]
    public void DensityIntegratesToOneOnAGrid()
    {
        Seeding.Set(15);
        using var scope = NewDisposeScope();
        var flow = new Flow2D(new Flow2DConfig { Steps = 4, Hidden = 16 });
        flow.to(float64);
        flow.LogProb(randn(64, 2, dtype: float64));
        Perturb(flow, 0.2);
        // Riemann sum of exp(log p) over [-8, 8]^2.
        int n = 400;
        var g = linspace(-8, 8, n, dtype: float64);
        var grid = stack(new[] { g.repeat_interleave(n), g.repeat(n) }, 1);
        using var _ = no_grad();
        double mass = flow.LogProb(grid).exp().sum().item<double>() * Math.Pow(16.0 / (n - 1), 2);
        Assert.InRange(mass, 0.97, 1.01);
    }
}
