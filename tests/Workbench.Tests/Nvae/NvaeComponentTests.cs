using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using Workbench.Nvae;
using static TorchSharp.torch;

namespace Workbench.Tests.Nvae;

public class NvaeComponentTests
{
    static double Max(Tensor t) => t.abs().max().to(ScalarType.Float64).item<double>();

    [Fact]
    public void ResidualNormalKlMatchesMonteCarloAndEq2()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var muP = randn(new long[] { 1, 2, 2, 2 }, generator: g);
        var sigmaP = exp(0.5 * randn(new long[] { 1, 2, 2, 2 }, generator: g));
        var dMu = 0.7 * randn(new long[] { 1, 2, 2, 2 }, generator: g);
        var dLogSigma = 0.5 * randn(new long[] { 1, 2, 2, 2 }, generator: g);
        var prior = new DiagonalNormal(muP, sigmaP);
        var q = ResidualNormal.Posterior(prior, dMu, dLogSigma);
        // the product form σ_q = σ_p·Δσ holds exactly
        var dSigma = exp(DiagonalNormal.SoftClamp(dLogSigma));
        Assert.True(Max(q.Sigma - sigmaP * dSigma) < 1e-6);
        var closed = q.Kl(prior);
        var eq2 = ResidualNormal.Kl(dMu, dSigma, sigmaP);
        Assert.True(Max(closed - eq2) < 1e-5, $"general KL and Eq. 2 differ by {Max(closed - eq2)}");
        // Eq. 2 does not depend on μ_p: moving the prior's mean with the posterior leaves the KL unchanged
        var shifted = new DiagonalNormal(muP + 3, sigmaP);
        Assert.True(Max(ResidualNormal.Posterior(shifted, dMu, dLogSigma).Kl(shifted) - closed) < 1e-5);
        // Monte Carlo: E_q[log q − log p] with 200k samples per variable
        long n = 200_000;
        var qn = new DiagonalNormal(q.Mu.expand(n, -1, -1, -1), q.Sigma.expand(n, -1, -1, -1));
        var pn = new DiagonalNormal(muP.expand(n, -1, -1, -1), sigmaP.expand(n, -1, -1, -1));
        var z = qn.Sample(generator: g);
        var ratio = qn.LogProb(z) - pn.LogProb(z);
        var mc = ratio.mean(new long[] { 0 });
        var se = ratio.std(new long[] { 0 }) / Math.Sqrt(n);
        var zscore = ((mc - closed[0]).abs() / se).max().item<float>();
        Assert.True(zscore < 4.5, $"closed-form KL off the Monte-Carlo estimate by {zscore} standard errors");
    }

    [Fact]
    public void DiscretizedLogisticMixtureSumsToOneOverAll256Values()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        foreach (int channels in new[] { 1, 2 })
            foreach (double scaleShift in new[] { -4.0, 0.0, 2.0 })
            {
                var lik = new DiscretizedLogisticMixture(5);
                var p = randn(new long[] { 1, lik.ParamChannels(channels), 1, 1 }, generator: g);
                // shift the log scales to test very peaked (e^-6) and very wide (e^2) components
                p[.., (5 + channels * 5)..] += scaleShift;
                var values = arange(256, dtype: ScalarType.Int64).to(ScalarType.Byte);
                // all 256 values in channel 0, channel 1 (if any) fixed: each channel is its own distribution
                var imgs = zeros(256, channels, 1, 1, dtype: ScalarType.Byte);
                imgs[.., 0, 0, 0] = values;
                var total = exp(lik.LogProb(p.expand(256, -1, -1, -1), imgs));
                // with two channels, channel 1 is held at 0: the joint sums to P(channel 1 = 0)
                if (channels == 2) total = total / exp(SingleChannel(lik, p, imgs[..1], 1));
                double sum = total.sum().item<float>();
                Assert.True(Math.Abs(sum - 1) < 1e-4, $"channels {channels}, log-scale shift {scaleShift}: probabilities sum to {sum}");
            }
    }

    // log P of channel c alone for a 1-pixel image (channels are independent when not RGB)
    static Tensor SingleChannel(DiscretizedLogisticMixture lik, Tensor p, Tensor img, int c)
    {
        int k = lik.Components, ch = (int)img.shape[1];
        var logits = p[.., ..k];
        var means = p[.., (k + c * k)..(k + (c + 1) * k)];
        var logS = p[.., (k + ch * k + c * k)..(k + ch * k + (c + 1) * k)].clamp_min(-7.0);
        var x = img[.., c..(c + 1)].to(ScalarType.Float32) / 127.5 - 1;
        var lp = DiscretizedLogisticMixture.BinLogProb(x, means, logS) + nn.functional.log_softmax(logits, 1);
        return logsumexp(lp, 1).sum();
    }

    [Fact]
    public void DiscretizedLogisticMixtureRgbConditionalsSumToOne()
    {
        using var scope = NewDisposeScope();
        // with one component the RGB joint factorises into p(r) p(g|r) p(b|r,g); sum over b for fixed r, g
        // must give p(r) p(g|r), and summing over g as well must give p(r)
        var lik = new DiscretizedLogisticMixture(1);
        var p = randn(new long[] { 1, lik.ParamChannels(3), 1, 1 }, generator: new Generator(5));
        var all = arange(256, dtype: ScalarType.Int64).to(ScalarType.Byte);
        var img = zeros(256 * 256, 3, 1, 1, dtype: ScalarType.Byte);
        img[.., 0, 0, 0] = full(256 * 256, 100, dtype: ScalarType.Byte);
        img[.., 1, 0, 0] = all.repeat_interleave(256);
        img[.., 2, 0, 0] = all.repeat(256);
        double sumGb = exp(lik.LogProb(p.expand(256 * 256, -1, -1, -1), img).to(ScalarType.Float64)).sum().item<double>();
        // p(r = 100) alone: a 1-channel mixture with the red parameters
        var red = cat(new[] { p[.., 0..1], p[.., 1..2], p[.., 4..5] }, 1);
        double pr = exp(new DiscretizedLogisticMixture(1).LogProb(red, img[..1, ..1])).item<float>();
        Assert.True(Math.Abs(sumGb / pr - 1) < 1e-3, $"Σ_g,b p(100, g, b) = {sumGb}, p(r = 100) = {pr}");
    }

    [Fact]
    public void BernoulliProbabilitiesSumToOne()
    {
        using var scope = NewDisposeScope();
        var lik = new BernoulliLikelihood();
        var logits = randn(5, 1, 1, 1) * 3;
        var on = exp(lik.LogProb(logits, full(5, 1, 1, 1, 255, dtype: ScalarType.Byte)));
        var off = exp(lik.LogProb(logits, zeros(5, 1, 1, 1, dtype: ScalarType.Byte)));
        Assert.True(Max(on + off - 1) < 1e-5);
        Assert.True(Max(on - sigmoid(logits).flatten()) < 1e-5);
    }

    [Fact]
    public void PowerIterationMatchesSvdAndKeepsItsVectors()
    {
        using var scope = NewDisposeScope();
        var w = randn(new long[] { 8, 4, 3, 3 }, generator: new Generator(11));
        var exact = linalg.matrix_norm(w.reshape(8, -1), ord: 2).item<float>();
        var sn = SpectralNorm.For(w, new Generator(1));
        // one iteration per call, 60 calls: the buffers carry the progress across calls
        double sigma = 0;
        for (int i = 0; i < 60; i++) sigma = sn.Sigma(w, 1).item<float>();
        Assert.True(Math.Abs(sigma - exact) / exact < 1e-4, $"power iteration {sigma} vs SVD {exact}");
        // the buffers are registered (they travel with the state dict)
        Assert.Contains("u", sn.state_dict().Keys);
        Assert.Contains("v", sn.state_dict().Keys);
        // gradient of σ = uᵀWv in W is u vᵀ
        var wp = w.detach().clone().requires_grad_(true);
        var s = sn.Sigma(wp, 0);
        s.backward();
        var expected = outer(sn.U, sn.V).reshape(w.shape);
        Assert.True(Max(wp.grad! - expected) < 1e-5);
    }

    [Fact]
    public void SpectralRegularizerSumsEveryConvLayersLargestSingularValue()
    {
        using var scope = NewDisposeScope();
        var model = new Workbench.Nvae.Nvae(NvaeConfig.Tiny);
        // one entry per conv layer (a weight-normalised conv counts once, through its applied weight)
        var convs = model.modules().OfType<Conv2d>().ToArray();
        Assert.Equal(convs.Length, model.Spectral.Count);
        double total = model.Spectral.SumOfSigmas(200).item<float>();
        double exact = model.Spectral.Weights().Sum(w => (double)linalg.matrix_norm(w.detach().reshape(w.shape[0], -1), ord: 2).item<float>());
        Assert.True(Math.Abs(total - exact) / exact < 1e-3, $"Σ s_i = {total}, SVD {exact}");
    }

    [Fact]
    public void SqueezeExcitationRescalesEachChannelByAGateInZeroOne()
    {
        using var scope = NewDisposeScope();
        var se = new SqueezeExcitation(8);
        var x = randn(2, 8, 5, 5) + 1;
        var y = se.call(x);
        var gate = se.Gate(x);
        Assert.True(gate.min().item<float>() > 0 && gate.max().item<float>() < 1);
        Assert.True(Max(y - x * gate.unsqueeze(-1).unsqueeze(-1)) < 1e-6);
        // the ratio y/x is constant over space within each channel
        var ratio = y / x;
        Assert.True(Max(ratio - ratio.mean(new long[] { 2, 3 }, keepdim: true)) < 1e-5);
    }

    /// <summary>libtorch runs the hand-written backward on the thread that called backward(), inside that thread's dispose
    /// scope: its temporaries (padded input, row slices, per-row products) must not stay alive there until the step ends;
    /// only what the caller made and the gradients autograd hands back remain.</summary>
    [Fact]
    public void DepthwiseBackwardLeavesNoTemporariesInTheCallersScope()
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 2, 3, 9, 9 }, requires_grad: true);
        var w = randn(new long[] { 3, 1, 5, 5 }, requires_grad: true);
        var b = randn(new long[] { 3 }, requires_grad: true);
        var loss = DepthwiseConv2dFunction.Apply(x, w, b, 2).square().sum();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        loss.backward();
        long added = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        // the three gradients (x, w, b), at most a few wrappers; without its own scope the backward left 44
        Assert.True(added <= 6, $"{added} tensors stayed alive on this thread after one depthwise backward");
        Assert.NotNull(x.grad);
        Assert.NotNull(w.grad);
    }

    [Fact]
    public void DepthwiseConvolutionGradientsMatchAutograd()
    {
        // our hand-written backward against libtorch's autograd of the same grouped conv, in float64, for every
        // padding a 5×5 filter allows and with/without bias; the output must match too
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 3, 4, 7, 6 }, dtype: ScalarType.Float64, requires_grad: true);
        var w = randn(new long[] { 4, 1, 5, 5 }, dtype: ScalarType.Float64, requires_grad: true);
        var b = randn(new long[] { 4 }, dtype: ScalarType.Float64, requires_grad: true);
        foreach (long pad in new long[] { 0, 1, 2, 3, 4 })
            foreach (bool withBias in new[] { true, false })
            {
                var bias = withBias ? b : null;
                var reference = nn.functional.conv2d(x, w, bias, padding: new[] { pad, pad }, groups: 4);
                var ours = DepthwiseConv2dFunction.Apply(x, w, bias, pad);
                Assert.Equal(reference.shape, ours.shape);
                Assert.True(Max(ours - reference) < 1e-12, $"output, padding {pad}");
                var r = randn(reference.shape, dtype: ScalarType.Float64);   // a random cotangent
                var inputs = withBias ? new[] { x, w, b } : new[] { x, w };
                var expected = autograd.grad(new[] { (reference * r).sum() }, inputs);
                var actual = autograd.grad(new[] { (ours * r).sum() }, inputs);
                for (int i = 0; i < inputs.Length; i++)
                    Assert.True(Max(actual[i] - expected[i]) < 1e-10, $"gradient {i} (x, w, b), padding {pad}: {Max(actual[i] - expected[i])}");
            }
        Assert.Throws<ArgumentException>(() => DepthwiseConv2dFunction.Apply(x, randn(3, 1, 5, 5, dtype: ScalarType.Float64), null, 2));
        // the generator cell uses it on the CPU: its gradients equal those of the plain module path
        var gen = new GeneratorResidualCell(4, 4, expansion: 2);
        var h = randn(2, 4, 6, 6);
        gen.call(h).square().sum().backward();
        var dw = gen.modules().OfType<Conv2d>().ElementAt(1);
        Assert.NotNull(dw.weight!.grad);
        Assert.True(dw.weight.grad!.abs().sum().item<float>() > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InverseAutoregressiveCellHasAUnitTriangularJacobianSoItsLogDetIsZero(bool mirror)
    {
        // brute-force autograd Jacobian of z' = z − μ(z, h) on a 2×3×3 latent (18 variables), float64
        using var scope = NewDisposeScope();
        long c = 2, side = 3, d = c * side * side;
        var cell = new InverseAutoregressiveCell(c, 3, expansion: 2, mirror: mirror);
        // the masks are buffers, so they move with the module (to a GPU, to float64)
        Assert.Equal(3, cell.named_buffers().Count(b => b.name.EndsWith("mask")));
        cell.to(ScalarType.Float64);
        using (no_grad())
            foreach (var p in cell.parameters()) p.copy_(randn_like(p) * 0.5);   // leave the zero (identity) start
        var h = randn(new long[] { 1, 3, side, side }, dtype: ScalarType.Float64);
        var z = randn(new long[] { 1, c, side, side }, dtype: ScalarType.Float64, requires_grad: true);
        var zp = cell.call(z, h).reshape(-1);
        var jac = zeros(d, d, dtype: ScalarType.Float64);
        for (int a = 0; a < d; a++)
            jac[a] = autograd.grad(new[] { zp[a] }, new[] { z }, retain_graph: true)[0].reshape(-1);
        // the autoregressive order: pixel in raster order, then channel (reversed when mirrored)
        long Order(long flat)
        {
            long ch = flat / (side * side), pix = flat % (side * side);
            long o = pix * c + ch;
            return mirror ? d - 1 - o : o;
        }
        int below = 0;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
            {
                double v = jac[a, b].item<double>();
                if (a == b) Assert.Equal(1.0, v, 12);
                else if (Order(b) > Order(a)) Assert.True(v == 0, $"z'[{a}] depends on the later z[{b}]: {v}");
                else if (Math.Abs(v) > 1e-6) below++;
            }
        Assert.True(below > d, $"only {below} earlier variables influence the shift: the masks are too strict");
        var (sign, logAbsDet) = linalg.slogdet(jac);
        Assert.Equal(1.0, sign.item<double>(), 12);
        Assert.Equal(0.0, logAbsDet.item<double>(), 10);
        // starts as the identity
        var fresh = new InverseAutoregressiveCell(c, 3, mirror: mirror);
        var zf = randn(1, c, side, side);
        Assert.True(Max(fresh.call(zf, randn(1, 3, side, side)) - zf) == 0);
    }

    [Fact]
    public void ResidualCellsAreSkipPlusScaledBranch()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 8, 6, 6);
        var enc = new EncoderResidualCell(8, 8, residualScale: 0.1);
        var gen = new GeneratorResidualCell(8, 8, expansion: 6, residualScale: 0.1);
        enc.eval(); gen.eval();
        Assert.True(Max(enc.call(x) - (x + 0.1 * enc.Branch(x))) < 1e-5);
        Assert.True(Max(gen.call(x) - (x + 0.1 * gen.Branch(x))) < 1e-5);
        // scale 0: the cell is the identity
        var id = new GeneratorResidualCell(8, 8, residualScale: 0);
        Assert.True(Max(id.call(x) - x) < 1e-6);
        // generator: 1×1 expansion ×6, depthwise 5×5, 1×1 projection; BN momentum as NVAE sets it
        var convs = gen.modules().OfType<Conv2d>().ToArray();
        Assert.Equal(new long[] { 48, 8, 1, 1 }, convs[0].weight!.shape);
        Assert.Equal(new long[] { 48, 1, 5, 5 }, convs[1].weight!.shape);
        Assert.Equal(new long[] { 8, 48, 1, 1 }, convs[2].weight!.shape);
        Assert.All(gen.modules().OfType<BatchNorm2d>(), bn => Assert.Equal(0.05, bn.momentum!.Value, 10));
        // encoder: two 3×3 convs; resampling variants change the size
        Assert.All(enc.modules().OfType<Conv2d>(), c => Assert.Equal(3, c.weight!.shape[3]));
        Assert.Equal(new long[] { 2, 16, 3, 3 }, new EncoderResidualCell(8, 16, downsample: true).call(x).shape);
        Assert.Equal(new long[] { 2, 4, 12, 12 }, new GeneratorResidualCell(8, 4, upsample: true).call(x).shape);
    }

    /// <summary>
    /// Sampling folds the generator cell's four BNs into its convolutions (eval mode, no gradients): the same branch
    /// output as the BNs applied one by one, with running statistics, scales and shifts far from their initial values
    /// and variances small enough that ε matters.
    /// </summary>
    [Fact]
    public void FoldedGeneratorBranchMatchesTheUnfoldedOneInEvalMode()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var cell = new GeneratorResidualCell(6, 6, expansion: 3);
        using (no_grad())
            foreach (var bn in cell.modules().OfType<BatchNorm2d>())
            {
                long c = bn.running_mean!.shape[0];
                bn.running_mean!.copy_(randn(new long[] { c }, generator: g));
                bn.running_var!.copy_(exp(2 * randn(new long[] { c }, generator: g)) * 1e-4);   // 1e-6 … 1e-2: ε = 1e-5 matters
                bn.weight!.copy_(randn(new long[] { c }, generator: g));
                bn.bias!.copy_(randn(new long[] { c }, generator: g));
            }
        cell.eval();
        var x = randn(new long[] { 3, 6, 7, 7 }, generator: g);
        var unfolded = cell.Branch(x).detach();                  // gradients enabled: the BNs run one by one
        Tensor folded;
        using (no_grad()) folded = cell.Branch(x);
        Assert.NotNull(cell.FoldedBranch(x));
        double scale = Max(unfolded);
        Assert.True(Max(folded - unfolded) < 1e-4 * scale, $"folded vs unfolded: {Max(folded - unfolded)} (outputs up to {scale})");
        // in training mode nothing is folded: batch statistics
        cell.train();
        using (no_grad()) Assert.True(Max(cell.Branch(x) - folded) > 1e-3);
    }

    /// <summary>
    /// The mixture's mean image (what sampling from the prior shows): per pixel the most probable component's mean,
    /// green and blue coupled to the already chosen red (and green) through that component's coefficients, clamped
    /// to [−1, 1] and mapped to 0…255; checked pixel by pixel against that rule written out, for RGB and grayscale.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void MixtureMeanIsTheMostProbableComponentsCoupledMean(int c)
    {
        using var scope = NewDisposeScope();
        const int k = 3, b = 2, side = 3;
        var mixture = new DiscretizedLogisticMixture(k);
        var g = new Generator(9);
        var p = 0.8 * randn(new long[] { b, mixture.ParamChannels(c), side, side }, generator: g);
        var image = mixture.Mean(p);
        Assert.Equal(ScalarType.Byte, image.dtype);
        var v = p.to(ScalarType.Float64).data<double>().ToArray();
        long P = p.shape[1];
        double At(long n, long ch, long y, long x) => v[((n * P + ch) * side + y) * side + x];
        for (long n = 0; n < b; n++)
            for (long y = 0; y < side; y++)
                for (long x = 0; x < side; x++)
                {
                    int best = Enumerable.Range(0, k).MaxBy(j => At(n, j, y, x));
                    double Mean(int ch) => At(n, k + ch * k + best, y, x);
                    double Coeff(int i) => Math.Tanh(At(n, k + 2 * c * k + i * k + best, y, x));
                    var xs = new double[c];
                    xs[0] = Math.Clamp(Mean(0), -1, 1);
                    if (c == 3)
                    {
                        xs[1] = Math.Clamp(Mean(1) + Coeff(0) * xs[0], -1, 1);
                        xs[2] = Math.Clamp(Mean(2) + Coeff(1) * xs[0] + Coeff(2) * xs[1], -1, 1);
                    }
                    for (int ch = 0; ch < c; ch++)
                    {
                        double expected = Math.Clamp(Math.Round((xs[ch] + 1) * 127.5), 0, 255);
                        double got = image[n, ch, y, x].item<byte>();
                        Assert.True(Math.Abs(got - expected) <= 1, $"pixel ({n}, {ch}, {y}, {x}): {got} vs {expected}");   // 1: float32 rounding at .5
                    }
                }
    }

    [Fact]
    public void KlWarmupAndBalancingCoefficients()
    {
        Assert.Equal(1e-4, KlBalancer.WarmupCoefficient(0, 100));
        Assert.Equal(0.5, KlBalancer.WarmupCoefficient(50, 100), 10);
        Assert.Equal(1.0, KlBalancer.WarmupCoefficient(100, 100));
        Assert.Equal(1.0, KlBalancer.WarmupCoefficient(5000, 100));
        Assert.Equal(new[] { 1.0, 1, 4, 4 }, KlBalancer.SquareAlpha(new[] { 2, 2 }));
        Assert.Equal(new[] { 1.0, 4, 16 }, KlBalancer.SquareAlpha(new[] { 1, 1, 1 }));
        Assert.Equal(new[] { 1.0, 2, 2 }, KlBalancer.SquareAlpha(new[] { 1, 2 }));

        using var scope = NewDisposeScope();
        var kl = rand(16, 4) * tensor(new float[] { 1, 10, 100, 1000 });
        var alpha = tensor(new float[] { 1, 1, 4, 4 });
        var gamma = KlBalancer.Coefficients(kl, alpha);
        Assert.Equal(4.0, gamma.sum().item<float>(), 4); // sums to the number of groups
        var expected = (kl.mean(new long[] { 0 }) + 0.01) / alpha;
        var r = gamma / expected;
        Assert.True(Max(r - r[0]) < 1e-4 * r[0].item<float>(), "γ ∝ (KL + 0.01)/α");
        // balancing only during warm-up (β < 1), and never when switched off
        var (klOn, gOn) = KlBalancer.Balance(kl, 0.5, true, alpha);
        Assert.True(Max(klOn - 0.5 * (kl * gamma).sum(1)) < 1e-2);
        var (klDone, gDone) = KlBalancer.Balance(kl, 1.0, true, alpha);
        Assert.True(Max(gDone - 1) == 0 && Max(klDone - kl.sum(1)) < 1e-3);
        var (_, gOff) = KlBalancer.Balance(kl, 0.5, false, alpha);
        Assert.True(Max(gOff - 1) == 0);
        // a group with almost no KL gets a coefficient near 0.01/α (it is penalised less)
        var collapsed = kl.clone(); collapsed[.., 0] = 0;
        Assert.True(KlBalancer.Coefficients(collapsed, alpha)[0].item<float>() < 1e-3);
    }
}
