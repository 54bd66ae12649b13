using TorchSharp;
using TorchSharp.Modules;
using Workbench.Autoregressive;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// The prior over a VQ-VAE code map (van den Oord et al. 2017, Section 3.3): a PixelCNN (2016a) over the K-way codes in
/// raster order, p(z) = Π_i p(z_i | z_&lt;i). Codes are embedded (K → E channels), then the PixelCNN's layers from
/// <c>Workbench.Autoregressive</c>: a mask-A <see cref="MaskedConv2d"/>, <see cref="PixelCnnResidualBlock"/>s of mask-B
/// convolutions, ReLU, 1×1 mask B, ReLU, 1×1 mask B to K logits per position (one channel group: a code is one symbol).
/// For VQ-VAE-2's bottom level a condition map (the top codes' vectors at the bottom resolution, known in full) enters
/// through an unmasked 3×3 convolution added after the first layer (Razavi et al. 2019, Section 3.2: the bottom prior is
/// conditioned on the top codes). log p is exact; sampling runs the network once per position.
/// </summary>
public sealed class CodePrior : nn.Module<Tensor, Tensor>
{
    readonly Embedding embedding;
    readonly MaskedConv2d input;
    readonly Conv2d? condition;
    readonly ModuleList<PixelCnnResidualBlock> blocks;
    readonly MaskedConv2d hidden;
    readonly MaskedConv2d output;

    /// <param name="codes">K, the codebook size.</param>
    /// <param name="embeddingDim">E, channels of the code embedding.</param>
    /// <param name="features">2h feature maps.</param>
    /// <param name="residualBlocks">PixelCNN residual blocks.</param>
    /// <param name="firstKernel">odd side of the mask-A convolution.</param>
    /// <param name="outputFeatures">width of the hidden 1×1 output layer.</param>
    /// <param name="conditionChannels">channels of the condition map (0: unconditional).</param>
    public CodePrior(int codes, int embeddingDim, int features, int residualBlocks, int firstKernel, int outputFeatures, int conditionChannels = 0)
        : base(nameof(CodePrior))
    {
        if (codes < 2) throw new ArgumentOutOfRangeException(nameof(codes), codes, "a code prior needs K ≥ 2");
        Codes = codes; ConditionChannels = conditionChannels;
        embedding = nn.Embedding(codes, embeddingDim);
        input = new MaskedConv2d(embeddingDim, features, firstKernel, MaskType.A);
        if (conditionChannels > 0) condition = nn.Conv2d(conditionChannels, features, 3, padding: 1);
        blocks = new ModuleList<PixelCnnResidualBlock>(Enumerable.Range(0, residualBlocks).Select(_ => new PixelCnnResidualBlock(features, 3, 1)).ToArray());
        hidden = new MaskedConv2d(features, outputFeatures, 1, MaskType.B);
        output = new MaskedConv2d(outputFeatures, codes, 1, MaskType.B);
        RegisterComponents();
    }

    /// <summary>K.</summary>
    public int Codes { get; }

    /// <summary>Channels of the condition map (0: unconditional).</summary>
    public int ConditionChannels { get; }

    /// <summary>The last 1×1 layer (zero weights and a chosen bias give every position the same known distribution).</summary>
    public MaskedConv2d OutputLayer => output;

    /// <summary>Logits [B, K, H, W] of code maps [B, H, W] (unconditional prior).</summary>
    public override Tensor forward(Tensor codes) => Logits(codes, null);

    /// <summary>Logits [B, K, H, W] of code maps [B, H, W] given the condition [B, C_cond, H, W] (null when unconditional).</summary>
    public Tensor Logits(Tensor codes, Tensor? conditionMap)
    {
        Shapes.Expect(codes, "CodePrior: code maps", "B", "H", "W");
        using var scope = NewDisposeScope();
        var e = embedding.call(codes.to(ScalarType.Int64)).permute(0, 3, 1, 2);
        return LogitsOfEmbedded(e, conditionMap).MoveToOuterDisposeScope();
    }

    /// <summary>Logits [B, K, H, W] from embedded codes [B, E, H, W] (what the causality check differentiates).</summary>
    public Tensor LogitsOfEmbedded(Tensor embedded, Tensor? conditionMap)
    {
        if ((conditionMap is null) != (condition is null))
            throw new ArgumentException(condition is null ? "CodePrior: this prior is unconditional; pass no condition"
                : $"CodePrior: this prior needs a condition map [B, {ConditionChannels}, H, W]");
        using var scope = NewDisposeScope();
        var h = input.call(embedded);
        if (condition is not null)
        {
            Shapes.Expect(conditionMap!, "CodePrior: condition map", embedded.shape[0], ConditionChannels, embedded.shape[2], embedded.shape[3]);
            h = h + condition.call(conditionMap!.to(h.dtype));
        }
        foreach (var b in blocks) h = b.call(h);
        h = hidden.call(nn.functional.relu(h));
        return output.call(nn.functional.relu(h)).MoveToOuterDisposeScope();
    }

    /// <summary>Embedded codes [B, E, H, W] of code maps [B, H, W] (the input <see cref="LogitsOfEmbedded"/> reads).</summary>
    public Tensor Embed(Tensor codes) => embedding.call(codes.to(ScalarType.Int64)).permute(0, 3, 1, 2);

    /// <summary>Exact log p(z) in nats per code map [B]: Σ_i log softmax(logits_i)[z_i].</summary>
    public Tensor LogProb(Tensor codes, Tensor? conditionMap = null)
    {
        using var scope = NewDisposeScope();
        var lp = nn.functional.log_softmax(Logits(codes, conditionMap), 1);
        return lp.gather(1, codes.to(ScalarType.Int64).unsqueeze(1)).squeeze(1).sum(new long[] { 1, 2 }).MoveToOuterDisposeScope();
    }

    /// <summary>n code maps [n, side, side] (int64) drawn position by position in raster order with
    /// <see cref="AutoregressiveSampler"/>, each from softmax(logits / temperature); side·side network passes.</summary>
    public Tensor Sample(int n, int side, Tensor? conditionMap = null, double temperature = 1.0)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive");
        var device = parameters().First().device;
        var maps = AutoregressiveSampler.Sample(this, new long[] { n, 1, side, side }, device, (x, i, j) =>
        {
            var logits = Logits(x.select(1, 0), conditionMap).select(2, i).select(2, j) / temperature;   // [n, K]
            var value = (logits - log(-log(rand_like(logits).clamp(1e-10, 1 - 1e-7)))).argmax(1);
            x.select(1, 0).select(1, i).select(1, j).copy_(value);
        }, dtype: ScalarType.Int64);
        return maps.select(1, 0);
    }
}
