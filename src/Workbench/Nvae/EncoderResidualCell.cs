using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// NVAE's bottom-up (encoder) residual cell (Vahdat &amp; Kautz 2020, Section 3.1, Fig. 3b):
/// BN → Swish → Conv3×3 → BN → Swish → Conv3×3 → SE, added to the skip path as skip + s·cell with a small s
/// (0.1, as NVAE's code does) so a deep stack starts close to the identity. With <c>downsample</c> the first conv
/// has stride 2 and the skip is a stride-2 Conv1×1 (NVAE's code uses a factorised reduction there; a single
/// strided 1×1 conv is our simplification). With <c>weightNorm</c> every conv is a weight-normalised
/// <see cref="WeightNormConv2d"/>, as in NVAE's code.
/// </summary>
public sealed class EncoderResidualCell : nn.Module<Tensor, Tensor>
{
    readonly BatchNorm2d bn1;
    readonly WeightNormConv2d conv1;
    readonly BatchNorm2d bn2;
    readonly WeightNormConv2d conv2;
    readonly SqueezeExcitation se;
    readonly WeightNormConv2d? skip;
    readonly double scale;

    public EncoderResidualCell(long inChannels, long outChannels, bool downsample = false, double residualScale = 0.1,
        bool weightNorm = false)
        : base(nameof(EncoderResidualCell))
    {
        if (!downsample && inChannels != outChannels)
            throw new ArgumentException($"EncoderResidualCell without downsampling keeps the width: {inChannels} != {outChannels}");
        bn1 = NvaeBatchNorm.Create(inChannels);
        conv1 = new WeightNormConv2d(inChannels, outChannels, 3, stride: downsample ? 2 : 1, padding: 1, weightNorm: weightNorm);
        bn2 = NvaeBatchNorm.Create(outChannels);
        conv2 = new WeightNormConv2d(outChannels, outChannels, 3, padding: 1, weightNorm: weightNorm);
        se = new SqueezeExcitation(outChannels);
        if (downsample) skip = new WeightNormConv2d(inChannels, outChannels, 1, stride: 2, weightNorm: weightNorm);
        scale = residualScale;
        RegisterComponents();
    }

    /// <summary>The residual branch alone (without skip and scaling).</summary>
    public Tensor Branch(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv1.call(nn.functional.silu(bn1.call(x)));
        h = conv2.call(nn.functional.silu(bn2.call(h)));
        return se.call(h).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var s = skip is null ? x : skip.call(x);
        return (s + scale * Branch(x)).MoveToOuterDisposeScope();
    }
}
