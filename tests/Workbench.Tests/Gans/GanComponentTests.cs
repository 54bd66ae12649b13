using TorchSharp;
using TorchSharp.Modules;
using Workbench.Gans;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Tests.Gans;

[Collection(Workbench.Tests.Training.GlobalRngCollection.Name)]
public class GanComponentTests
{
    static double Max(Tensor t) => t.abs().max().item<float>();

    /// <summary>D(x) = a·x + ½c‖x‖²: ∇D(x) = a + c·x, so the gradient's norm depends on where x̂ lies and the penalty's
    /// gradients in a and c have closed forms.</summary>
    sealed class QuadraticCritic : GanDiscriminator
    {
        readonly Parameter a, c;
        public QuadraticCritic(Tensor a0, double c0) : base(nameof(QuadraticCritic), GanConfig.Toy, 1)
        {
            a = new Parameter(a0.clone());
            c = new Parameter(tensor(new[] { (float)c0 }));
            RegisterComponents();
        }
        public Parameter A => a;
        public Parameter C => c;
        public override Tensor Score(Tensor x, Tensor? labels = null) => matmul(x, a) + 0.5 * c * x.square().sum(new long[] { 1 });
    }

    [Fact]
    public void GradientPenaltyIsTakenAtTheInterpolatesAndItsGradientReachesTheCritic()
    {
        // WGAN-GP Eq. 3: P = λ mean_i (‖g_i‖ − 1)², g_i = ∇D(x̂_i) = a + c x̂_i, x̂_i = ε_i x_i + (1 − ε_i) x̃_i.
        // dP/da = λ mean 2(‖g_i‖ − 1) g_i/‖g_i‖, dP/dc = λ mean 2(‖g_i‖ − 1) (g_i·x̂_i)/‖g_i‖: only a penalty built
        // with create_graph has them.
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var critic = new QuadraticCritic(randn(new long[] { 2 }, generator: gen), 0.7);
        var reals = randn(new long[] { 6, 2 }, generator: gen);
        var fakes = randn(new long[] { 6, 2 }, generator: gen) * 2;
        var eps = rand(new long[] { 6 }, generator: gen);
        const double lambda = 10;
        var (penalty, norms) = GradientPenalty.Compute(critic, reals, fakes, lambda, epsilon: eps);

        var xhat = eps.unsqueeze(1) * reals + (1 - eps.unsqueeze(1)) * fakes;
        var g = critic.A.detach().unsqueeze(0) + critic.C.detach() * xhat;
        var n = g.norm(1, false, 2);
        Assert.True(Max(norms.detach() - n) < 1e-5, "‖∇D(x̂)‖ at the interpolates");
        Assert.True(Math.Abs(penalty.item<float>() - lambda * (n - 1).square().mean().item<float>()) < 1e-4);

        penalty.backward();
        var w = (2 * lambda * (n - 1) / n).unsqueeze(1);                      // [6, 1]
        var dA = (w * g).mean(new long[] { 0 });
        var dC = (w.squeeze(1) * (g * xhat).sum(new long[] { 1 })).mean();
        Assert.NotNull(critic.A.grad);
        Assert.True(Max(critic.A.grad! - dA) < 1e-4, $"dP/da {critic.A.grad!.str()} vs {dA.str()}");
        Assert.True(Max(critic.C.grad! - dC) < 1e-4, $"dP/dc {critic.C.grad!.str()} vs {dC.str()}");
    }

    [Fact]
    public void WeightClippingClampsEveryParameter()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var d = new DcganDiscriminator(GanConfig.Small with { Resolution = 8, Width = 4 });
        using (no_grad()) foreach (var p in d.parameters()) p.mul_(100);
        WeightClipping.Apply(d, 0.01);
        foreach (var (name, p) in d.named_parameters())
            Assert.True(p.abs().max().item<float>() <= 0.01f + 1e-9, $"{name} exceeds the clip");
    }

    [Fact]
    public void SpectrallyNormalisedLayersApplyAWeightOfUnitSpectralNorm()
    {
        // Miyato et al. Algorithm 1: one power iteration per training forward pass; after enough passes the applied
        // weight W/σ has largest singular value 1 (SVD), and the layer's output is the plain layer's with that weight.
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var conv = new SnConv2d(3, 8, 3, 1, 1, spectralNorm: true);
        var lin = new SnLinear(12, 5, spectralNorm: true);
        var x = randn(2, 3, 6, 6);
        var v = randn(4, 12);
        conv.train(); lin.train();
        for (int i = 0; i < 100; i++) { conv.call(x); lin.call(v); }
        conv.eval(); lin.eval();
        double sConv = linalg.matrix_norm(conv.Weight.detach().reshape(8, -1), ord: 2).item<float>();
        double sLin = linalg.matrix_norm(lin.Weight.detach(), ord: 2).item<float>();
        Assert.True(Math.Abs(sConv - 1) < 1e-3, $"conv: σ(W/σ̂) = {sConv}");
        Assert.True(Math.Abs(sLin - 1) < 1e-3, $"linear: σ(W/σ̂) = {sLin}");
        var expected = nn.functional.conv2d(x, conv.Weight, conv.Inner.bias, padding: new long[] { 1, 1 });
        Assert.True(Max(conv.call(x) - expected) < 1e-5);
        Assert.True(Max(lin.call(v) - nn.functional.linear(v, lin.Weight, lin.Inner.bias)) < 1e-5);
        // eval mode keeps u, v: the same output twice
        Assert.True(Max(conv.call(x) - conv.call(x)) == 0);
    }

    [Fact]
    public void ASpectrallyNormalisedDiscriminatorScoresRealsAndFakesInOneGraph()
    {
        // a D step scores reals and fakes before one backward; each training forward pass updates u and v in place,
        // which must not disturb the first pass's backward
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        foreach (var config in new[] { GanConfig.Toy with { Hidden = 8, SpectralNorm = true },
                     GanConfig.Small with { Resolution = 8, Width = 4, SpectralNorm = true, DiscriminatorBatchNorm = false } })
        {
            var (g, d) = GanModels.Create(config);
            d.train();
            var reals = config.Architecture == GanArchitecture.Mlp ? randn(4, 2) : randn(4, 1, 8, 8);
            var loss = AdversarialLoss.Discriminator(GanLoss.Hinge, d.Score(reals), d.Score(g.Sample(4).detach()));
            loss.backward();
            Assert.All(d.parameters(), p => Assert.NotNull(p.grad));
        }
    }

    [Fact]
    public void ConditionalGeneratorsOutputDependsOnTheLabelOnlyThroughItsEmbeddingRow()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        foreach (var g in new GanGenerator[]
                 {
                     new MlpGenerator(GanConfig.Toy with { Classes = 4, Hidden = 16 }),
                     new DcganGenerator(GanConfig.Small with { Resolution = 8, Width = 4, Classes = 4 }),
                 })
        {
            g.eval();
            var z = randn(1, g.Config.ZDim).expand(4, -1);
            var labels = tensor(new long[] { 0, 1, 2, 3 });
            using var _ = no_grad();
            var before = g.Generate(z, labels);
            // one z, four labels: four different outputs
            for (int i = 1; i < 4; i++) Assert.True(Max(before[i] - before[0]) > 1e-4, $"{g.GetName()}: label {i} gives label 0's output");
            // moving class 2's embedding changes class 2's output and no other
            g.ClassEmbedding!.weight![2].add_(1.0);
            var after = g.Generate(z, labels);
            for (int i = 0; i < 4; i++)
            {
                double change = Max(after[i] - before[i]);
                if (i == 2) Assert.True(change > 1e-4, $"{g.GetName()}: class 2's output did not follow its embedding");
                else Assert.True(change == 0, $"{g.GetName()}: class {i}'s output changed by {change} when class 2's embedding moved");
            }
            Assert.Throws<ArgumentException>(() => g.Generate(z));
            Assert.Throws<ArgumentException>(() => g.Generate(z, tensor(new long[] { 0, 1, 2, 4 })));
        }
    }

    [Fact]
    public void GeneratorLossGradientsWithRespectToDOfGOfZMatchTheirClosedForms()
    {
        // Goodfellow et al. Section 3: with D = D(G(z)) = σ(l), the minimax G loss log(1 − D) has dL/dD = −1/(1 − D)
        // (small where D ≈ 0: saturation), the non-saturating −log D has dL/dD = −1/D (large where D ≈ 0). Batch means.
        using var scope = NewDisposeScope();
        var probs = tensor(new[] { 0.001f, 0.05f, 0.3f, 0.5f, 0.9f });
        int n = (int)probs.shape[0];
        foreach (var (loss, closed) in new (Func<Tensor, Tensor>, Func<Tensor, Tensor>)[]
                 {
                     (MinimaxLoss.Generator, d => -1 / (1 - d) / n),
                     (NonSaturatingLoss.Generator, d => -1 / d / n),
                 })
        {
            var d = probs.clone().requires_grad_(true);
            loss(log(d) - log(1 - d)).backward();                // logits of D
            var expected = closed(probs);
            Assert.True(Max((d.grad! - expected) / expected) < 1e-4, $"{d.grad!.str()} vs {expected.str()}");
        }
        // and their values: log(1 − D) and −log D
        var l = log(probs) - log(1 - probs);
        Assert.True(Math.Abs(MinimaxLoss.Generator(l).item<float>() - log(1 - probs).mean().item<float>()) < 1e-5);
        Assert.True(Math.Abs(NonSaturatingLoss.Generator(l).item<float>() + log(probs).mean().item<float>()) < 1e-5);
    }

    [Fact]
    public void CriticAndHingeLossesHaveThePapersValues()
    {
        using var scope = NewDisposeScope();
        var real = tensor(new[] { 2f, 0.5f, -1f });
        var fake = tensor(new[] { -2f, 0f, 1.5f });
        Assert.Equal(fake.mean().item<float>() - real.mean().item<float>(), WassersteinLoss.Critic(real, fake).item<float>(), 5);
        // hinge: mean max(0, 1 − r) = (0 + 0.5 + 2)/3, mean max(0, 1 + f) = (0 + 1 + 2.5)/3
        Assert.Equal(2.5f / 3 + 3.5f / 3, HingeLoss.Discriminator(real, fake).item<float>(), 5);
        Assert.Equal(-fake.mean().item<float>(), AdversarialLoss.Generator(GanLoss.Hinge, fake).item<float>(), 5);
    }

    [Fact]
    public void SelfAttentionStartsAsTheIdentityAndKeepsShapes()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var block = new SelfAttention(16);
        var x = randn(2, 16, 5, 7);
        Assert.Equal(0f, block.Gamma.item<float>());
        var y = block.call(x);
        Assert.Equal(x.shape, y.shape);
        Assert.True(Max(y - x) == 0, "γ = 0 at initialisation: y = x");
        var beta = block.Map(x);
        Assert.Equal(new long[] { 2, 35, 35 }, beta.shape);
        Assert.True(Max(beta.sum(new long[] { 2 }) - 1) < 1e-5, "β_j,· is a distribution over the positions i");
        // with γ ≠ 0 the block mixes positions: moving one position's input changes every output position
        using (no_grad()) block.Gamma.fill_(1.0);
        var x2 = x.clone();
        x2[0, .., 0, 0] += 3;
        var delta = (block.call(x2) - block.call(x))[0].abs().sum(new long[] { 0 });   // [H, W]
        Assert.True(delta[4, 6].item<float>() > 1e-6, "attention carries evidence from (0, 0) to (4, 6)");
        // in G and D at the configured side
        var config = GanConfig.Small with { Resolution = 16, Width = 4, Attention = 8 };
        var (g, d) = GanModels.Create(config);
        Assert.Single(g.modules().OfType<SelfAttention>());
        Assert.Single(d.modules().OfType<SelfAttention>());
        var img = g.Sample(3);
        Assert.Equal(new long[] { 3, 1, 16, 16 }, img.shape);
        Assert.Equal(new long[] { 3 }, d.Score(img).shape);
    }

    [Fact]
    public void ProjectionDiscriminatorAddsTheLabelsEmbeddingTimesTheFeatures()
    {
        // Miyato & Koyama Eq. 3: D(x, y) − D(x, y') = (e_y − e_y')ᵀ φ(x); with the embedding at zero, D ignores y.
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var d = new MlpDiscriminator(GanConfig.Toy with { Classes = 3, Projection = true, Hidden = 8 });
        var x = randn(4, 2);
        var head = d.modules().OfType<ProjectionHead>().Single();
        using (no_grad()) head.Embedding.weight!.zero_();
        var a = d.Score(x, tensor(new long[] { 0, 0, 0, 0 }));
        var b = d.Score(x, tensor(new long[] { 2, 1, 2, 1 }));
        Assert.True(Max(a - b) < 1e-6);
        using (no_grad()) head.Embedding.weight![1].fill_(1.0);
        var c = d.Score(x, tensor(new long[] { 1, 1, 1, 1 }));
        Assert.True(Max(c - a) > 1e-4, "the label's embedding enters the score");
    }

    [Fact]
    public void ModeCoverageCountsModesAndHighQualitySamples()
    {
        using var scope = NewDisposeScope();
        var ring = GaussianMixtureToy.Ring();
        var exact = ring.Sample(4000, 7);
        var all = ModeCoverage.Measure(exact, ring);
        Assert.Equal(8, all.Covered);
        Assert.InRange(all.HighQuality, 0.98, 0.995);          // P(‖N(0, I₂)‖ ≤ 3) = 1 − e^{−4.5} = 0.989
        // collapse onto two modes, with a quarter of the points off the ring
        var centres = ring.Centres();
        var two = cat(new[] { centres[0].expand(1500, -1), centres[3].expand(1500, -1), zeros(1000, 2) }, 0);
        var collapsed = ModeCoverage.Measure(two, ring);
        Assert.Equal(2, collapsed.Covered);
        Assert.Equal(0.75, collapsed.HighQuality, 6);
        // scaled: the same structure in units of σ
        var big = ring.Scaled(10);
        Assert.Equal(0.2, big.Std, 9);
        Assert.True(Max(big.Centres() - 10 * centres) < 1e-5);
        var scaled = ModeCoverage.Measure(big.Sample(4000, 7), big);
        Assert.Equal(8, scaled.Covered);
        Assert.Equal(all.HighQuality, scaled.HighQuality, 3);
        Assert.Equal(25, GaussianMixtureToy.Grid().Modes);
        Assert.Equal(25, ModeCoverage.Measure(GaussianMixtureToy.Grid().Sample(5000, 8), GaussianMixtureToy.Grid()).Covered);
    }
}
