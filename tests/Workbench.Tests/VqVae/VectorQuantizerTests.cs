using TorchSharp;
using Workbench.Training;
using Workbench.VqVae;
using static TorchSharp.torch;
using VqVaeModel = Workbench.VqVae.VqVae;

namespace Workbench.Tests.VqVae;

public class VectorQuantizerTests
{
    static VectorQuantizer Quantizer(int k, int d, CodebookUpdate update, double decay = 0.99, double eps = 1e-5, bool restart = false, double threshold = 1.0)
    {
        var q = new VectorQuantizer(k, d, update, decay, eps, restart, threshold);
        q.to(float64);
        return q;
    }

    static void SetCodebook(VectorQuantizer q, double[,] codes)
    {
        using var _ = no_grad();
        var e = tensor(codes, float64);
        q.Codebook.copy_(e);
        q.EmaSum.copy_(e);
        q.ClusterSize.fill_(1.0);
    }

    [Fact]
    public void StraightThroughGradientEqualsTheGradientAtTheQuantisedValue()
    {
        Seeding.Set(2401);
        using var scope = NewDisposeScope();
        var q = Quantizer(8, 4, CodebookUpdate.Loss);
        q.eval();
        var decoder = nn.Conv2d(4, 3, 3, padding: 1);
        decoder.to(float64);
        var target = randn(2, 3, 5, 5, dtype: float64);
        Tensor Loss(Tensor z) => (decoder.call(z) - target).pow(2).sum();

        var ze = (randn(2, 4, 5, 5, dtype: float64) * 0.05).requires_grad_(true);
        var output = q.call(ze);
        Loss(output.Quantized).backward();
        Assert.True(ze.grad is not null, "no gradient reached the encoder output z_e");
        var gradAtEncoder = ze.grad!;

        var zq = output.Quantized.detach().clone().requires_grad_(true);
        // the value passed on is the quantised one: exactly the nearest codes
        Assert.True(zq.allclose(q.Lookup(output.Indices), rtol: 0, atol: 1e-12));
        decoder.zero_grad();
        Loss(zq).backward();
        var gradAtCode = zq.grad!;

        Assert.True(gradAtCode.abs().max().item<double>() > 1e-3, "the decoder's gradient should not vanish");
        Assert.True(gradAtEncoder.allclose(gradAtCode, rtol: 1e-10, atol: 1e-12),
            $"∂L/∂z_e differs from ∂L/∂z_q: max |Δ| = {(gradAtEncoder - gradAtCode).abs().max().item<double>()}");
    }

    [Fact]
    public void QuantisationPicksTheNearestCodeByBruteForce()
    {
        Seeding.Set(2402);
        using var scope = NewDisposeScope();
        const int K = 16, D = 3;
        var q = Quantizer(K, D, CodebookUpdate.Loss);
        q.eval();
        using (no_grad()) q.Codebook.copy_(randn(K, D, dtype: float64));
        var ze = randn(2, D, 4, 4, dtype: float64);
        var output = q.call(ze);
        var e = q.Codebook.detach().data<double>().ToArray();
        var z = ze.permute(0, 2, 3, 1).reshape(-1, D).data<double>().ToArray();
        var picked = output.Indices.reshape(-1).data<long>().ToArray();
        var values = output.Quantized.detach().permute(0, 2, 3, 1).reshape(-1, D).data<double>().ToArray();
        for (int n = 0; n < picked.Length; n++)
        {
            int best = 0;
            double bestD = double.MaxValue;
            for (int k = 0; k < K; k++)
            {
                double dist = 0;
                for (int c = 0; c < D; c++) dist += Math.Pow(z[n * D + c] - e[k * D + c], 2);
                if (dist < bestD) { bestD = dist; best = k; }
            }
            Assert.Equal(best, picked[n]);
            for (int c = 0; c < D; c++) Assert.Equal(e[best * D + c], values[n * D + c], 12);
        }
        // the losses of Eq. 3 are the mean squared distance to the picked codes
        Assert.Equal(output.CommitmentLoss.item<double>(), output.CodebookLoss.item<double>(), 12);
        Assert.True(output.Perplexity >= 1 && output.Perplexity <= output.CodesUsed + 1e-9);
    }

    [Fact]
    public void EmaUpdateEqualsItsClosedFormOnAToy()
    {
        using var scope = NewDisposeScope();
        const double gamma = 0.9, eps = 0.1;
        var q = Quantizer(3, 2, CodebookUpdate.Ema, gamma, eps);
        Assert.False(q.Codebook.requires_grad);
        q.train();
        var e0 = new[,] { { 0.0, 0.0 }, { 1.0, 1.0 }, { 5.0, -5.0 } };
        SetCodebook(q, e0);
        // batch 1: two vectors near code 0, one near code 1, none near code 2; batch 2: one vector each near codes 0 and 1
        var batches = new[]
        {
            new[,] { { 0.1, -0.2 }, { -0.3, 0.1 }, { 1.2, 0.8 } },
            new[,] { { 0.2, 0.2 }, { 0.9, 1.4 } },
        };
        var assigned = new[] { new[] { 0, 0, 1 }, new[] { 0, 1 } };
        // closed form, by hand: N ← γN + (1−γ)n, m ← γm + (1−γ)Σz, Ñ = (N+ε)/(ΣN+Kε)·ΣN, e = m/Ñ
        double[] N = { 1, 1, 1 };
        double[,] m = (double[,])e0.Clone();
        double[,] e = (double[,])e0.Clone();
        for (int t = 0; t < batches.Length; t++)
        {
            var z = batches[t];
            int rows = z.GetLength(0);
            var ze = tensor(z, float64).reshape(1, rows, 1, 2).permute(0, 3, 1, 2);   // [1, 2, rows, 1]
            var output = q.call(ze);
            Assert.Equal(assigned[t].Select(i => (long)i).ToArray(), output.Indices.reshape(-1).data<long>().ToArray());
            for (int k = 0; k < 3; k++)
            {
                double n = 0, s0 = 0, s1 = 0;
                for (int r = 0; r < rows; r++)
                    if (assigned[t][r] == k) { n++; s0 += z[r, 0]; s1 += z[r, 1]; }
                N[k] = gamma * N[k] + (1 - gamma) * n;
                m[k, 0] = gamma * m[k, 0] + (1 - gamma) * s0;
                m[k, 1] = gamma * m[k, 1] + (1 - gamma) * s1;
            }
            double total = N.Sum();
            for (int k = 0; k < 3; k++)
            {
                double smoothed = (N[k] + eps) / (total + 3 * eps) * total;
                e[k, 0] = m[k, 0] / smoothed;
                e[k, 1] = m[k, 1] / smoothed;
            }
            var got = q.Codebook.detach().data<double>().ToArray();
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(N[k], q.ClusterSize[k].item<double>(), 12);
                Assert.Equal(e[k, 0], got[2 * k], 12);
                Assert.Equal(e[k, 1], got[2 * k + 1], 12);
            }
        }
        // eval mode leaves the codebook alone
        var before = q.Codebook.detach().clone();
        q.eval();
        q.call(randn(1, 2, 3, 3, dtype: float64));
        Assert.True(before.eq(q.Codebook.detach()).all().item<bool>());
    }

    [Fact]
    public void DeadCodeRestartReplacesAnUnusedCode()
    {
        Seeding.Set(2404);
        using var scope = NewDisposeScope();
        var codes = new[,] { { 0.0, 0.0 }, { 1.0, 0.0 }, { 0.0, 1.0 }, { 100.0, 100.0 } };
        var batch = (randn(16, 2, dtype: float64) * 0.2).reshape(1, 16, 1, 2).permute(0, 3, 1, 2);
        var flat = batch.permute(0, 2, 3, 1).reshape(-1, 2);

        // without restarts the far code stays where it is
        var plain = Quantizer(4, 2, CodebookUpdate.Loss, decay: 0.5);
        SetCodebook(plain, codes);
        plain.train();
        plain.call(batch);
        Assert.Equal(new[] { 100.0, 100.0 }, plain.Codebook[3].detach().data<double>().ToArray());

        var q = Quantizer(4, 2, CodebookUpdate.Loss, decay: 0.5, restart: true, threshold: 1.0);
        SetCodebook(q, codes);
        q.train();
        var output = q.call(batch);
        Assert.Equal(0, output.Indices.eq(3).sum().item<long>());           // the far code was unused
        Assert.True(q.LastRestarts >= 1);
        var moved = q.Codebook[3].detach();
        Assert.True(moved.sub(tensor(new[] { 100.0, 100.0 }, float64)).abs().max().item<double>() > 50, "the unused code was not restarted");
        // it now sits on one of the batch's encoder outputs, with a fresh count of 1
        Assert.True((flat - moved.unsqueeze(0)).abs().sum(new long[] { 1 }).min().item<double>() < 1e-12, "the restarted code is not an encoder output of the batch");
        Assert.Equal(1.0, q.ClusterSize[3].item<double>(), 12);
        // a code the batch uses is left alone
        long used = output.Indices.reshape(-1)[0].item<long>();
        Assert.Equal(Enumerable.Range(0, 2).Select(c => codes[used, c]).ToArray(), q.Codebook[used].detach().data<double>().ToArray());
    }
}
