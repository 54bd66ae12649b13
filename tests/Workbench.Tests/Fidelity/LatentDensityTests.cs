using TorchSharp;
using Workbench.Nvae;
using NvaeModel = Workbench.Nvae.Nvae;
using static TorchSharp.torch;

namespace Workbench.Tests.Fidelity;

/// <summary>
/// log q(z|x), log p(z) and the KL that the VAEs report, against the densities recomputed from the model's own
/// sampled z. The encoder's sampler conv is set to a zero weight and a chosen bias, so q is a known Normal
/// whatever the image; the NVAE's prior samplers are zeroed, so every prior is known too.
/// </summary>
public class LatentDensityTests
{
    const double HalfLog2Pi = 0.91893853320467274178;

    static double SoftClamp(double v) => 5 * Math.Tanh(v / 5);

    static double LogNormal(double z, double mu, double sigma)
    {
        double e = (z - mu) / sigma;
        return -0.5 * e * e - Math.Log(sigma) - HalfLog2Pi;
    }

    static double KlNormal(double muQ, double sigmaQ, double muP, double sigmaP)
    {
        double r = sigmaQ / sigmaP, d = (muQ - muP) / sigmaP;
        return 0.5 * (d * d + r * r) - Math.Log(r) - 0.5;
    }

    static double[] Rows(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    /// <summary>Zeroes every parameter whose name contains <paramref name="prefix"/> (at least one must).</summary>
    static void Zero(nn.Module module, string prefix)
    {
        var ps = module.named_parameters().Where(p => p.name.Contains(prefix, StringComparison.Ordinal)).ToList();
        Assert.True(ps.Count > 0, $"no parameters named {prefix}* in {module.GetName()}");
        using (no_grad()) foreach (var (_, p) in ps) p.zero_();
    }

    /// <summary>Sets the bias of every sampler conv named <paramref name="prefix"/>*.bias: the first half of the
    /// channels (μ or Δμ) to <paramref name="mu"/>, the second half (log σ or log Δσ) to <paramref name="logSigma"/>.</summary>
    static void SetSamplerBias(nn.Module module, string prefix, double mu, double logSigma)
    {
        var biases = module.named_parameters().Where(p => p.name.Contains(prefix, StringComparison.Ordinal) && p.name.EndsWith("bias", StringComparison.Ordinal)).ToList();
        Assert.True(biases.Count > 0, $"no {prefix}*.bias in {module.GetName()}");
        using (no_grad())
            foreach (var (_, b) in biases)
            {
                long half = b.shape[0] / 2;
                b[..(int)half].fill_(mu);
                b[(int)half..].fill_(logSigma);
            }
    }

    static Tensor Images(long n, int side)
    {
        manual_seed(1);
        return randint(0, 256, new long[] { n, 1, side, side }).to(ScalarType.Byte);
    }

    [Fact]
    public void VaeLogQLogPAndKlAreTheDensitiesAtItsSampledZ()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var vae = new Vae(VaeConfig.Tiny);
        vae.eval();
        Zero(vae, "encSampler.");
        SetSamplerBias(vae, "encSampler.", 0.3, -0.4);
        double muQ = SoftClamp(0.3), sigmaQ = Math.Exp(SoftClamp(-0.4)) + 0.01; // DiagonalNormal.FromParams

        using var _ = no_grad();
        var images = Images(3, 8);
        var o = vae.call(images);
        var z = o.Z[0].to(ScalarType.Float64);
        var zs = z.reshape(3, -1);
        long d = zs.shape[1];
        for (int i = 0; i < 3; i++)
        {
            var zi = Rows(zs[i]);
            double logQ = zi.Sum(v => LogNormal(v, muQ, sigmaQ)), logP = zi.Sum(v => LogNormal(v, 0, 1));
            Assert.Equal(logQ, o.LogQ[i].item<float>(), 3);
            Assert.Equal(logP, o.LogP[i].item<float>(), 3);
            Assert.Equal(d * KlNormal(muQ, sigmaQ, 0, 1), o.KlPerGroup()[i, 0].item<float>(), 3);
            Assert.Equal(o.LogPx[i].item<float>() + logP - logQ, o.LogWeight()[i].item<float>(), 3);
        }
    }

    /// <summary>
    /// With q = p (sampler bias chosen so that σ_q = exp(softclamp(b)) + 0.01 = 1) and a decoder whose output conv is
    /// zero (so p(x|z) does not depend on z), p(x) = p(x|z) exactly: every importance-weighted bound, at any K, and
    /// the ELBO equal log p(x|z), and the KL is 0.
    /// </summary>
    [Fact]
    public void WithPosteriorEqualToPriorTheBoundIsExactlyTheLikelihood()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var vae = new Vae(VaeConfig.Tiny);
        vae.eval();
        Zero(vae, "encSampler.");
        Zero(vae, "output.");
        SetSamplerBias(vae, "encSampler.", 0.0, 5 * Math.Atanh(Math.Log(0.99) / 5));

        using var _ = no_grad();
        var images = Images(3, 8);
        var o = vae.call(images);
        var exact = Rows(vae.Likelihood.LogProb(zeros_like(o.Params), images));
        var elbo = Rows(o.Elbo());
        var iw = Rows(vae.LogProb(images, k: 5, chunk: 2));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(0, o.KlPerGroup()[i, 0].item<float>(), 3);
            Assert.True(Math.Abs(exact[i] - elbo[i]) < 1e-2, $"example {i}: ELBO {elbo[i]}, log p(x) {exact[i]}");
            Assert.True(Math.Abs(exact[i] - iw[i]) < 1e-2, $"example {i}: IW bound (K = 5) {iw[i]}, log p(x) {exact[i]}");
        }
    }

    /// <summary>
    /// NVAE, two groups: group 1's prior is N(0, 1), group 2's prior sampler is zeroed so it is
    /// N(softclamp(0), exp(softclamp(0)) + 0.01) = N(0, 1.01²); the residual posterior is N(μ_p + Δμ, (σ_p·Δσ)²) with
    /// Δμ = 0.3, Δσ = exp(softclamp(−0.4)).
    /// </summary>
    [Fact]
    public void NvaeLogQLogPAndKlAreTheDensitiesAtItsSampledZ()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var nvae = new NvaeModel(NvaeConfig.Tiny);
        nvae.eval();
        Zero(nvae, ".prior.");
        Zero(nvae, ".posterior.");
        SetSamplerBias(nvae, ".posterior.", 0.3, -0.4);
        double dMu = 0.3, dSigma = Math.Exp(SoftClamp(-0.4));
        double[] sigmaP = { 1.0, 1.01 };

        using var _ = no_grad();
        var images = Images(3, 8);
        var o = nvae.call(images);
        Assert.Equal(2, o.Z.Length);
        var kl = o.KlPerGroup();
        for (int i = 0; i < 3; i++)
        {
            double logQ = 0, logP = 0;
            for (int l = 0; l < 2; l++)
            {
                var zi = Rows(o.Z[l][i].flatten());
                logQ += zi.Sum(v => LogNormal(v, dMu, sigmaP[l] * dSigma));
                logP += zi.Sum(v => LogNormal(v, 0, sigmaP[l]));
                Assert.Equal(zi.Length * KlNormal(dMu, sigmaP[l] * dSigma, 0, sigmaP[l]), kl[i, l].item<float>(), 3);
            }
            Assert.Equal(logQ, o.LogQ[i].item<float>(), 3);
            Assert.Equal(logP, o.LogP[i].item<float>(), 3);
        }
    }
}
