using TorchSharp;
using Workbench.Nvae;
using NvaeModel = Workbench.Nvae.Nvae;
using static TorchSharp.torch;

namespace Workbench.Tests.Fidelity;

/// <summary>
/// The density NVAE reports with IAF cells on q. The change of variables gives log q(z') = log q₀(z₀) − log|det ∂z'/∂z₀|;
/// the model reports log q₀(z₀), which is right only if the cell's Jacobian has |det| = 1. The cell test computes that
/// Jacobian by brute force (one backward pass per output, float64); the model test checks that the reported log q
/// is the base Normal's density at z₀ (reconstructed from the seed), not at the flowed z'.
/// </summary>
[Collection(FidelityRngCollection.Name)]
public class IafDensityTests
{
    const double HalfLog2Pi = 0.91893853320467274178;

    static void Randomize(nn.Module module, string prefix, double scale)
    {
        var ps = module.named_parameters().Where(p => p.name.Contains(prefix, StringComparison.Ordinal)).ToList();
        Assert.True(ps.Count > 0, $"no parameters named {prefix}* in {module.GetName()}");
        using (no_grad()) foreach (var (_, p) in ps) p.copy_(randn_like(p) * scale);
    }

    [Fact]
    public void CellJacobianHasUnitDeterminantByBruteForce()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var cell = new InverseAutoregressiveCell(2, 3, expansion: 2);
        cell.to(ScalarType.Float64);
        Randomize(cell, "", 0.5); // the shift starts at zero; make it a real function of z
        var z = randn(new long[] { 1, 2, 3, 3 }, dtype: ScalarType.Float64).requires_grad_(true);
        var h = randn(new long[] { 1, 3, 3, 3 }, dtype: ScalarType.Float64);
        var zOut = cell.call(z, h).flatten();
        long d = zOut.shape[0];
        var rows = new Tensor[d];
        for (long i = 0; i < d; i++)
            rows[i] = torch.autograd.grad(new[] { zOut[i] }, new[] { z }, retain_graph: true)[0].flatten();
        var jac = stack(rows);
        double offIdentity = (jac - eye(d, dtype: ScalarType.Float64)).abs().max().item<double>();
        Assert.True(offIdentity > 1e-3, $"the cell is (nearly) the identity (max |J − I| = {offIdentity}); the test would show nothing");
        var (sign, logAbsDet) = linalg.slogdet(jac);
        double ld = logAbsDet.item<double>();
        Assert.True(Math.Abs(ld) < 1e-10, $"log|det ∂z'/∂z| = {ld}, but the model reports log q(z') = log q0(z0), i.e. assumes 0");
    }

    [Fact]
    public void NvaeReportsTheBaseDensityAtThePreFlowSample()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var nvae = new NvaeModel(NvaeConfig.Tiny with { IafCells = 1 });
        nvae.eval();
        Randomize(nvae, ".flows.", 0.5);
        using (no_grad())
        {
            foreach (var (name, p) in nvae.named_parameters())
                if (name.Contains(".prior.", StringComparison.Ordinal) || name.Contains(".posterior.", StringComparison.Ordinal)) p.zero_();
            foreach (var (name, b) in nvae.named_parameters().Where(p => p.name.Contains(".posterior.", StringComparison.Ordinal) && p.name.EndsWith("bias", StringComparison.Ordinal)))
            {
                long half = b.shape[0] / 2;
                b[..(int)half].fill_(0.3);
                b[(int)half..].fill_(-0.4);
            }
        }
        // q_l = N(μ_p + 0.3, (σ_p·Δσ)²), σ_p = 1 for group 1 and 1.01 for group 2 (zeroed prior sampler).
        double dSigma = Math.Exp(5 * Math.Tanh(-0.4 / 5));
        double[] sigmaQ = { dSigma, 1.01 * dSigma };

        using var _ = no_grad();
        manual_seed(1);
        var images = randint(0, 256, new long[] { 3, 1, 8, 8 }).to(ScalarType.Byte);
        manual_seed(9);
        var o = nvae.call(images);
        // The posterior draws ε per group, in order, as randn_like(μ): z0 = μ + σ·ε.
        manual_seed(9);
        var expected = new double[3];
        for (int l = 0; l < 2; l++)
        {
            var eps = randn(o.Z[l].shape).to(ScalarType.Float64);
            var z0 = 0.3 + sigmaQ[l] * eps;
            Assert.True((z0 - o.Z[l].to(ScalarType.Float64)).abs().max().item<double>() > 1e-3, $"group {l}: the flow left z unchanged");
            var lq = (-0.5 * eps * eps - Math.Log(sigmaQ[l]) - HalfLog2Pi).sum(new long[] { 1, 2, 3 });
            for (int i = 0; i < 3; i++) expected[i] += lq[i].item<double>();
        }
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(expected[i] - o.LogQ[i].item<float>()) < 1e-3,
                $"example {i}: reported log q {o.LogQ[i].item<float>()}, base density at z0 minus log|det| (= 0) {expected[i]}");
    }
}
