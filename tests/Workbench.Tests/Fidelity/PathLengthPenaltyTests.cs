using TorchSharp;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.Fidelity;

/// <summary>
/// The path-length penalty's value against a hand computation for a linear generator, whose Jacobian is known:
/// images = reshape(A·vec(ws)), so J_wᵀ y = reshape(Aᵀ y). Lazy regularisation (StyleGAN2 Section 3.1) applies the
/// regulariser every k steps with its weight multiplied by k; the returned loss must be weight · k · mean((‖J_wᵀ y‖ − a)²).
/// </summary>
[Collection(FidelityRngCollection.Name)]
public class PathLengthPenaltyTests
{
    [Fact]
    public void LossIsWeightTimesIntervalTimesTheHandComputedPenalty()
    {
        const int n = 3, numWs = 2, wDim = 4, h = 2, w = 3, interval = 4;
        const double weight = 2.0, decay = 0.01, a0 = 0.5;
        using var scope = NewDisposeScope();
        manual_seed(11);
        var aMat = randn(h * w, numWs * wDim);
        var ws = randn(n, numWs, wDim).requires_grad_(true);
        var images = matmul(ws.reshape(n, numWs * wDim), aMat.t()).reshape(n, 1, h, w);

        var reg = new PathLengthRegularizer(weight, decay) { Mean = a0 };
        manual_seed(5);
        var (loss, meanLength, penaltyValue) = reg.Compute(images, ws, interval);

        // The same directions y: Compute draws randn_like(images) first, then divides by sqrt(H·W).
        manual_seed(5);
        var y = randn(n, 1, h, w).reshape(n, h * w).to(ScalarType.Float64) / Math.Sqrt(h * w);
        var a = aMat.to(ScalarType.Float64);
        var lengths = new double[n];
        for (int i = 0; i < n; i++)
        {
            var g = matmul(a.t(), y[i]).reshape(numWs, wDim); // J_wᵀ y for example i, per layer
            lengths[i] = Math.Sqrt(g.square().sum(new long[] { 1 }).mean().item<double>());
        }
        double mean = lengths.Average();
        double target = a0 + decay * (mean - a0);
        double penalty = lengths.Select(l => (l - target) * (l - target)).Average();

        Assert.Equal(mean, meanLength, 5);
        Assert.Equal(target, reg.Mean, 5);
        Assert.Equal(penalty, penaltyValue, 5);
        double expectedLoss = weight * interval * penalty;
        double actual = loss.item<float>();
        Assert.True(Math.Abs(actual - expectedLoss) <= 1e-5 * Math.Max(1, Math.Abs(expectedLoss)),
            $"loss {actual}, expected weight·interval·penalty = {weight}·{interval}·{penalty} = {expectedLoss}");
    }
}
