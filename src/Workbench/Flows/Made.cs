using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// MADE (Germain et al. 2015, Section 4) with Gaussian conditionals, as MAF uses it (Papamakarios et al. 2017, Section 3):
/// masked dense layers (<see cref="MaskedLinear"/>, ReLU between) map x [B, D] to (μ, α) [B, D] each, where output d
/// depends only on the inputs that come before d in the order. Degrees (Section 4.2): input d has m⁰(d) ∈ {1..D} (its
/// position in the order); hidden unit k of layer l has m^l(k) ∈ {1..D−1}, assigned cyclically (k mod (D−1)) + 1 rather
/// than sampled, so the connectivity is deterministic; hidden masks keep m^l(k) ≥ m^(l−1)(k') (Eq. 12), the output mask
/// keeps m⁰(d) &gt; m^L(k) (Eq. 13). The output layer starts at zero, so a fresh MADE outputs μ = α = 0.
/// </summary>
public sealed class Made : nn.Module<Tensor, (Tensor Mu, Tensor Alpha)>
{
    readonly ModuleList<MaskedLinear> layers;

    /// <param name="dimensions">D.</param>
    /// <param name="hidden">units per hidden layer.</param>
    /// <param name="hiddenLayers">hidden layers (at least 1).</param>
    /// <param name="reversed">order D, D−1, …, 1 instead of 1, 2, …, D.</param>
    public Made(long dimensions, long hidden, int hiddenLayers = 2, bool reversed = false) : base(nameof(Made))
    {
        if (dimensions < 1) throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "MADE needs at least one dimension");
        if (hiddenLayers < 1) throw new ArgumentOutOfRangeException(nameof(hiddenLayers), hiddenLayers, "MADE needs at least one hidden layer");
        Dimensions = dimensions;
        var inputDegrees = Enumerable.Range(1, (int)dimensions).Select(d => reversed ? dimensions + 1 - d : (long)d).ToArray();
        InputDegrees = inputDegrees;
        long span = Math.Max(1, dimensions - 1);
        var hiddenDegrees = Enumerable.Range(0, (int)hidden).Select(k => k % span + 1).ToArray();
        var masks = new List<Tensor> { Mask(hiddenDegrees, inputDegrees, (o, i) => o >= i) };
        for (int l = 1; l < hiddenLayers; l++) masks.Add(Mask(hiddenDegrees, hiddenDegrees, (o, i) => o >= i));
        var outputDegrees = inputDegrees.Concat(inputDegrees).ToArray(); // μ then α
        masks.Add(Mask(outputDegrees, hiddenDegrees, (o, i) => o > i));
        layers = new ModuleList<MaskedLinear>(masks.Select(m => new MaskedLinear(m)).ToArray());
        using (no_grad())
        {
            layers[^1].Linear.weight!.zero_();
            layers[^1].Linear.bias!.zero_();
        }
        RegisterComponents();
    }

    public long Dimensions { get; }

    /// <summary>m⁰(d) for each input d: its position (1-based) in the autoregressive order.</summary>
    public IReadOnlyList<long> InputDegrees { get; }

    static Tensor Mask(long[] outDegrees, long[] inDegrees, Func<long, long, bool> connect)
    {
        var m = new float[outDegrees.Length * inDegrees.Length];
        for (int o = 0; o < outDegrees.Length; o++)
            for (int i = 0; i < inDegrees.Length; i++)
                m[o * inDegrees.Length + i] = connect(outDegrees[o], inDegrees[i]) ? 1f : 0f;
        return tensor(m, new long[] { outDegrees.Length, inDegrees.Length });
    }

    /// <summary>(μ, α) [B, D] each for x [B, D]; μ_d and α_d depend only on the x_d' earlier in the order.</summary>
    public override (Tensor Mu, Tensor Alpha) forward(Tensor x)
    {
        Shapes.Expect(x, "Made: x", "B", Dimensions);
        using var scope = NewDisposeScope();
        var h = x;
        for (int l = 0; l < layers.Count - 1; l++) h = nn.functional.relu(layers[l].call(h));
        var o = layers[^1].call(h);
        return (o.narrow(1, 0, Dimensions).MoveToOuterDisposeScope(), o.narrow(1, Dimensions, Dimensions).MoveToOuterDisposeScope());
    }
}
