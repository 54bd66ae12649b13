using TorchSharp;
using Workbench.Training;
using Workbench.VqVae;
using static TorchSharp.torch;
using VqVaeModel = Workbench.VqVae.VqVae;

namespace Workbench.Tests.VqVae;

public class CodePriorTests
{
    static CodePrior Tiny(int k, int conditionChannels = 0)
    {
        var prior = new CodePrior(k, embeddingDim: 4, features: 8, residualBlocks: 2, firstKernel: 3, outputFeatures: 8, conditionChannels);
        prior.to(float64);
        return prior;
    }

    [Fact]
    public void PriorBoundMatchesAHandCountOnA2x2CodeMap()
    {
        Seeding.Set(2411);
        using var scope = NewDisposeScope();
        const int K = 3;
        var codes = tensor(new long[] { 0, 2, 1, 2 }, new long[] { 1, 2, 2 });

        // 1. every position's distribution fixed to softmax(b): zero output weights, bias b
        var prior = Tiny(K);
        var b = new[] { 0.5, -1.0, 2.0 };
        using (no_grad())
        {
            prior.OutputLayer.Conv.weight!.zero_();
            prior.OutputLayer.Conv.bias!.copy_(tensor(b, float64));
        }
        double z = b.Sum(Math.Exp);
        double handBits = new[] { 0, 2, 1, 2 }.Sum(c => -Math.Log2(Math.Exp(b[c]) / z));
        Assert.Equal(handBits, -prior.LogProb(codes).item<double>() / Math.Log(2), 10);
        using (no_grad()) prior.OutputLayer.Conv.bias!.zero_();   // the uniform prior: 4 codes · log₂ 3 bits
        Assert.Equal(4 * Math.Log2(K), -prior.LogProb(codes).item<double>() / Math.Log(2), 10);

        // 2. a random prior: the sum of the four conditionals, each read with the later codes scrambled
        var random = Tiny(K);
        double sum = 0;
        var flat = new long[] { 0, 2, 1, 2 };
        for (int i = 0; i < 4; i++)
        {
            var scrambled = (long[])flat.Clone();
            for (int j = i; j < 4; j++) scrambled[j] = (flat[j] + 1 + j) % K;   // position i itself and everything after
            var logits = random.call(tensor(scrambled, new long[] { 1, 2, 2 }))[0, .., i / 2, i % 2].data<double>().ToArray();
            double lz = Math.Log(logits.Sum(Math.Exp));
            sum += -(logits[flat[i]] - lz) / Math.Log(2);
        }
        Assert.Equal(sum, -random.LogProb(codes).item<double>() / Math.Log(2), 10);
    }

    [Fact]
    public void VqVaeBoundIsDecoderBitsPlusPriorBitsPerDimension()
    {
        Seeding.Set(2412);
        using var scope = NewDisposeScope();
        var config = VqVaeConfig.Small with { ImageSize = 8, Hidden = 8, ResidualHidden = 4, Codes = 3, CodeDim = 2, ResidualBlocks = 1,
            PriorEmbedding = 4, PriorFeatures = 8, PriorResidualBlocks = 1, PriorFirstKernel = 3, PriorOutputFeatures = 8 };
        var model = new VqVaeModel(config);
        model.to(float64);
        Assert.Equal(new[] { 2 }, config.CodeMapSides());   // a 2×2 code map
        var prior = model.NewPrior(0);
        prior.to(float64);
        var b = new[] { 1.0, 0.0, -1.0 };
        using (no_grad())
        {
            prior.OutputLayer.Conv.weight!.zero_();
            prior.OutputLayer.Conv.bias!.copy_(tensor(b, float64));
        }
        var x = rand(2, 1, 8, 8, dtype: float64) * 2 - 1;
        var (decoderNats, codes, _) = VqVaeBound.Decoder(model, x);
        double z = b.Sum(Math.Exp);
        for (int i = 0; i < 2; i++)
        {
            double priorBits = codes[0][i].reshape(-1).data<long>().ToArray().Sum(c => -Math.Log2(Math.Exp(b[c]) / z));
            double hand = (decoderNats[i].item<double>() / Math.Log(2) + priorBits) / 64;
            double bound = VqVaeBound.BitsPerDim(decoderNats + VqVaeBound.PriorNats(model, new[] { prior }, codes), 64)[i].item<double>();
            Assert.Equal(hand, bound, 10);
            double uniform = VqVaeBound.BitsPerDim(decoderNats[i].item<double>() + VqVaeBound.UniformPriorNats(model), 64);
            Assert.Equal((decoderNats[i].item<double>() / Math.Log(2) + 4 * Math.Log2(3)) / 64, uniform, 10);
        }
    }

    /// <summary>dependsOn[p, q]: the logits at position p have a non-zero gradient w.r.t. the embedded code at q.</summary>
    static bool[,] Dependencies(CodePrior prior, int side, Tensor? condition)
    {
        long n = side * side;
        var result = new bool[n, n];
        var embedded = randn(3, 4, side, side, dtype: float64).requires_grad_(true);
        var logits = prior.LogitsOfEmbedded(embedded, condition);
        for (long p = 0; p < n; p++)
        {
            using var step = NewDisposeScope();
            var l = logits.select(2, p / side).select(2, p % side);
            var grad = autograd.grad(new List<Tensor> { (l * randn_like(l)).sum() }, new List<Tensor> { embedded }, retain_graph: true)[0];
            var flags = (grad.abs().sum(new long[] { 0, 1 }) > 0).reshape(n).data<bool>().ToArray();
            for (long q = 0; q < n; q++) result[p, q] = flags[q];
        }
        return result;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PriorIsCausalOverTheCodeMap(bool conditional)
    {
        Seeding.Set(2413);
        using var scope = NewDisposeScope();
        const int side = 5;
        var prior = Tiny(6, conditional ? 2 : 0);
        var condition = conditional ? randn(3, 2, side, side, dtype: float64) : null;
        var d = Dependencies(prior, side, condition);
        for (int p = 0; p < side * side; p++)
            for (int q = p; q < side * side; q++)
                Assert.False(d[p, q], $"the logits of code {p} depend on code {q} (at or after it in raster order)");
        // and it does read the past: the left neighbour and the code above
        long c = 2 * side + 2;
        Assert.True(d[c, c - 1] && d[c, c - side], "the prior ignores the codes before it");
        if (conditional)
        {
            // the condition is known in full: a change anywhere in it may move the first position's logits
            var moved = condition!.clone();
            moved[0, .., side - 1, side - 1] += 1.0;
            var e = randn(3, 4, side, side, dtype: float64);
            var a = prior.LogitsOfEmbedded(e, condition);
            var bLogits = prior.LogitsOfEmbedded(e, moved);
            Assert.True((a - bLogits).abs().max().item<double>() > 0);
        }
    }

    [Fact]
    public void SamplesAreCodeMapsAndFollowADeterministicPrior()
    {
        Seeding.Set(2414);
        using var scope = NewDisposeScope();
        var prior = Tiny(5);
        var maps = prior.Sample(3, 4);
        Assert.Equal(new long[] { 3, 4, 4 }, maps.shape);
        Assert.Equal(ScalarType.Int64, maps.dtype);
        Assert.True(maps.min().item<long>() >= 0 && maps.max().item<long>() < 5);
        using (no_grad())
        {
            prior.OutputLayer.Conv.weight!.zero_();
            prior.OutputLayer.Conv.bias!.copy_(tensor(new double[] { 0, 0, 0, 50, 0 }, float64));
        }
        Assert.True(prior.Sample(2, 3).eq(3).all().item<bool>());
    }
}
