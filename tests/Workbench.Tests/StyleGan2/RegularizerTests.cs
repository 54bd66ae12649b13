using TorchSharp;
using TorchSharp.Modules;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

public class RegularizerTests
{
    /// <summary>D(x) = Σ a·x + ½ Σ x²: ∇D = a + x, so ‖∇D‖² is known per example.</summary>
    sealed class KnownGradientD : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter a;
        public KnownGradientD(Tensor a) : base("KnownGradientD") { this.a = nn.Parameter(a.clone()); RegisterComponents(); }
        public Tensor A => a;
        public override Tensor forward(Tensor x) => (x * a).flatten(1).sum(1) + 0.5 * x.square().flatten(1).sum(1);
    }

    [Fact]
    public void R1EqualsTheAnalyticSquaredGradientNorm()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(20);
        var a = randn(3, 4, 4);
        var d = new KnownGradientD(a);
        var x = randn(5, 3, 4, 4);
        var (sq, logits) = R1Regularizer.Penalty(d, x);
        var expected = (a + x).square().flatten(1).sum(1);
        Assert.True(allclose(sq, expected, 1e-5, 1e-5));
        Assert.Equal(new long[] { 5 }, logits.shape);
        // Lazy form: γ/2 · mean · interval, and it is differentiable w.r.t. D's parameters (create_graph):
        // d/da mean‖a + x‖² = 2 mean(a + x).
        var loss = R1Regularizer.Loss(sq, gamma: 10, interval: 16);
        Assert.Equal(5.0 * 16 * expected.mean().item<float>(), loss.item<float>(), 2);
        sq.mean().backward();
        Assert.True(allclose(d.A.grad!, 2 * (a + x).mean(new long[] { 0 }), 1e-4, 1e-5));
    }

    [Fact]
    public void PathLengthPenaltyIsZeroForAnOrthogonalJacobianWithTheTargetLength()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(21);
        const int d = 16;
        const double c = 1.7;
        // A linear "synthesis" g(w) = c·Q w, reshaped to a 1x4x4 image, with Q orthogonal: J = cQ.
        var (q, _) = linalg.qr(randn(d, d, dtype: ScalarType.Float64));
        var ws = randn(6, 1, d, dtype: ScalarType.Float64).requires_grad_(true);
        var img = (ws[.., 0].matmul(q.t()) * c).reshape(6, 1, 4, 4);
        // Unit-length y: ‖Jᵀy‖ = c exactly for every sample.
        var y = randn(6, 1, 4, 4, dtype: ScalarType.Float64);
        y = y / y.flatten(1).norm(1).reshape(6, 1, 1, 1);
        var lengths = PathLengthRegularizer.PathLengths(img, ws, y);
        Assert.True(allclose(lengths, full(6, c, dtype: ScalarType.Float64), 1e-9, 1e-9));
        Assert.True(PathLengthRegularizer.Penalty(lengths, c).max().item<double>() < 1e-18);
        // ... and not zero for another target, or for a non-orthogonal Jacobian.
        Assert.Equal(0.09, PathLengthRegularizer.Penalty(lengths, c + 0.3).mean().item<double>(), 9);
        var skew = (ws[.., 0].matmul(q.t()) * c * linspace(0.5, 2, d, dtype: ScalarType.Float64)).reshape(6, 1, 4, 4);
        var skewLengths = PathLengthRegularizer.PathLengths(skew, ws, y);
        Assert.True(PathLengthRegularizer.Penalty(skewLengths, c).mean().item<double>() > 1e-3);
    }

    [Fact]
    public void PathLengthRunningMeanUsesItsDecayAndRandomDirectionsHaveExpectedLengthOne()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(22);
        const int d = 1024;
        var (q, _) = linalg.qr(randn(d, d));
        var ws = randn(8, 2, d).requires_grad_(true);
        // Both layer ws feed the image (the mean over layers is the official convention): g = Q (w0 + w1) / sqrt(2)
        // has ‖Jᵀy‖² per layer = ‖y‖²/2, summed over wDim and averaged over the 2 layers → ‖y‖²/2.
        var img = ((ws[.., 0] + ws[.., 1]).matmul(q.t()) / Math.Sqrt(2)).reshape(8, 1, 32, 32);
        var reg = new PathLengthRegularizer(weight: 2, decay: 0.01);
        var (loss, meanLength, _) = reg.Compute(img, ws, interval: 4);
        // y ~ N(0, I)/sqrt(H·W) on a 1x32x32 image has ‖y‖ ≈ 1, so the length is ≈ 1/sqrt(2).
        Assert.InRange(meanLength, 0.67, 0.74);
        Assert.Equal(0.01 * meanLength, reg.Mean, 6);
        Assert.True(loss.item<float>() > 0);
    }

    /// <summary>
    /// The penalty's gradient is the official code's (loss.py): the target is the updated running mean
    /// a' = a + decay·(mean(l) − a), which still depends on this batch's lengths, so the gradient w.r.t. the generator's
    /// weights equals autograd of weight·interval·mean((l − a')²) written out here, in float64 to 1e-12. With the target
    /// detached (the config's alternative) the gradient differs. A linear generator g(w) = M w with M a parameter.
    /// </summary>
    [Fact]
    public void PathLengthGradientFollowsTheOfficialUpdatedMean()
    {
        using var scope = NewDisposeScope();
        const int d = 12;
        const double decay = 0.3, a0 = 0.4;
        random.manual_seed(24);
        var m = randn(16, d, dtype: ScalarType.Float64).requires_grad_(true);
        var ws = randn(5, 2, d, dtype: ScalarType.Float64).requires_grad_(true);
        Tensor Image() => (ws[.., 0] + 0.5 * ws[.., 1]).matmul(m.t()).reshape(5, 1, 4, 4);
        Tensor GradOf(Func<Tensor> loss)
        {
            m.grad?.zero_();
            random.manual_seed(25);
            loss().backward();
            return m.grad!.clone();
        }
        var reg = new PathLengthRegularizer(weight: 2, decay: decay) { Mean = a0 };
        var ours = GradOf(() => reg.Compute(Image(), ws, interval: 4).Loss);
        var official = GradOf(() =>
        {
            var img = Image();
            var l = PathLengthRegularizer.PathLengths(img, ws, PathLengthRegularizer.RandomDirections(img));
            var target = a0 + decay * (l.mean() - a0);
            return (l - target).square().mean() * (2.0 * 4);
        });
        Assert.True((ours - official).abs().max().item<double>() < 1e-12, $"max |difference| {(ours - official).abs().max().item<double>():E2}");
        var detached = GradOf(() => new PathLengthRegularizer(weight: 2, decay: decay, detachMean: true) { Mean = a0 }.Compute(Image(), ws, interval: 4).Loss);
        Assert.True((detached - official).abs().max().item<double>() > 1e-3 * official.abs().max().item<double>());
        Assert.Equal(ScalarType.Float64, ours.dtype);
    }

    [Fact]
    public void LazyRegularizationCorrectsAdamsHyperParameters()
    {
        var (lr, b1, b2) = LazyRegularization.Corrected(0.002, 0.0, 0.99, 16);
        Assert.Equal(0.002 * 16 / 17, lr, 12);
        Assert.Equal(0.0, b1);
        Assert.Equal(Math.Pow(0.99, 16.0 / 17), b2, 12);
        Assert.Equal(1.0, LazyRegularization.Ratio(0));
        Assert.Equal(0.8, LazyRegularization.Ratio(4), 12);
    }

    [Fact]
    public void EmaWithBetaZeroCopiesTheWeightsAndHalfLifeGivesOneHalf()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(23);
        var cfg = ComponentTests.TinyConfig(8);
        var g = new StyleGan2Generator(cfg);
        var ema = new StyleGan2Generator(cfg);
        var before = ema.parameters().First().detach().clone();
        var avg = new Ema(g, ema);
        avg.Update(0.5);
        var src = g.parameters().First();
        Assert.True(allclose(ema.parameters().First(), (before + src) / 2, 1e-6, 1e-6));
        avg.Update(0.0);
        foreach (var ((n1, p1), (n2, p2)) in ema.named_parameters().Zip(g.named_parameters()))
        {
            Assert.Equal(n1, n2);
            Assert.True(p1.equal(p2).all().item<bool>(), $"{n1} not copied");
        }
        foreach (var ((n1, b1), (_, b2)) in ema.named_buffers().Zip(g.named_buffers()))
            Assert.True(b1.equal(b2).all().item<bool>(), $"buffer {n1} not copied");
        Assert.Equal(0.5, Ema.BetaFromHalfLife(10_000, 10_000), 12);
        Assert.Equal(0.0, Ema.BetaFromHalfLife(32, 10_000, 0, 0.05));
    }

    [Fact]
    public void NonSaturatingLossesAreTheLogSigmoidForms()
    {
        using var scope = NewDisposeScope();
        var real = tensor(new[] { 2.0f, -1.0f, 0.3f });
        var fake = tensor(new[] { -0.5f, 4.0f, 0.0f });
        var dExpected = -(1 - sigmoid(fake)).log().mean() - sigmoid(real).log().mean();
        var gExpected = -sigmoid(fake).log().mean();
        Assert.Equal(dExpected.item<float>(), NonSaturatingLoss.Discriminator(real, fake).item<float>(), 5);
        Assert.Equal(gExpected.item<float>(), NonSaturatingLoss.Generator(fake).item<float>(), 5);
    }
}
