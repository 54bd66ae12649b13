using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// NVAE's top-down (generative) residual cell (Vahdat &amp; Kautz 2020, Section 3.1, Fig. 3a), the MobileNetV2-style
/// inverted residual: BN → Conv1×1 (expand the width by E, 6 in the paper) → BN → Swish → depthwise Conv5×5 → BN →
/// Swish → Conv1×1 (back to the output width) → BN → SE; output = skip + s·cell (s = 0.1 as in NVAE's code).
/// The depthwise 5×5 conv widens the receptive field cheaply (on the CPU it runs through
/// <see cref="DepthwiseConv2dFunction"/>, with a hand-written backward). With <c>upsample</c> the cell first doubles
/// the spatial size (nearest-neighbour upsampling followed by convolutions, in place of a transposed convolution) and
/// the skip is upsample → Conv1×1. With <c>weightNorm</c> the skip conv is weight-normalised; the three convs of the
/// branch stay plain, as in NVAE's code (each is followed by BN, which undoes any per-channel scale).
/// </summary>
public sealed class GeneratorResidualCell : nn.Module<Tensor, Tensor>
{
    readonly BatchNorm2d bn0;
    readonly Conv2d expand;
    readonly BatchNorm2d bn1;
    readonly Conv2d depthwise;
    readonly BatchNorm2d bn2;
    readonly Conv2d project;
    readonly BatchNorm2d bn3;
    readonly SqueezeExcitation se;
    readonly WeightNormConv2d? skip;
    readonly bool up;
    readonly double scale;

    public GeneratorResidualCell(long inChannels, long outChannels, int expansion = 6, bool upsample = false, double residualScale = 0.1,
        bool weightNorm = false)
        : base(nameof(GeneratorResidualCell))
    {
        if (!upsample && inChannels != outChannels)
            throw new ArgumentException($"GeneratorResidualCell without upsampling keeps the width: {inChannels} != {outChannels}");
        if (expansion < 1) throw new ArgumentOutOfRangeException(nameof(expansion), expansion, "expansion must be >= 1");
        long hidden = inChannels * expansion;
        bn0 = NvaeBatchNorm.Create(inChannels);
        expand = nn.Conv2d(inChannels, hidden, 1);
        bn1 = NvaeBatchNorm.Create(hidden);
        depthwise = nn.Conv2d(hidden, hidden, 5, padding: 2, groups: hidden);
        bn2 = NvaeBatchNorm.Create(hidden);
        project = nn.Conv2d(hidden, outChannels, 1);
        bn3 = NvaeBatchNorm.Create(outChannels);
        se = new SqueezeExcitation(outChannels);
        if (upsample) skip = new WeightNormConv2d(inChannels, outChannels, 1, weightNorm: weightNorm);
        up = upsample;
        scale = residualScale;
        RegisterComponents();
    }

    static Tensor Up(Tensor x) => NearestUpsample.Apply(x, 2 * x.shape[2], 2 * x.shape[3]);

    /// <summary>The residual branch alone (input already upsampled when the cell upsamples). In eval mode without
    /// gradients (sampling) the four BNs are folded into the three convolutions (<see cref="FoldedBranch"/>).</summary>
    public Tensor Branch(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (!training && !is_grad_enabled() && FoldedBranch(x) is { } folded) return folded.MoveToOuterDisposeScope();
        var h = expand.call(bn0.call(x));
        h = nn.functional.silu(bn1.call(h));
        // on the CPU our backward beats libtorch's grouped-conv backward; CUDA's is fast already
        h = h.device_type == DeviceType.CPU ? DepthwiseConv2dFunction.Apply(h, depthwise.weight!, depthwise.bias, 2) : depthwise.call(h);
        h = project.call(nn.functional.silu(bn2.call(h)));
        return se.call(bn3.call(h)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The branch in eval mode with its BNs folded into the convolutions (<see cref="BatchNormFolding"/>): BN₀ and BN₁
    /// into the expanding 1×1 conv, BN₂ into the depthwise conv, BN₃ into the projecting 1×1 conv; the same outputs as
    /// the unfolded branch in eval mode to float rounding. Null when a BN keeps no running statistics.
    /// </summary>
    public Tensor? FoldedBranch(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (BatchNormFolding.Affine(bn0) is not { } a0 || BatchNormFolding.Affine(bn1) is not { } a1
            || BatchNormFolding.Affine(bn2) is not { } a2 || BatchNormFolding.Affine(bn3) is not { } a3) return null;
        var (we, be) = BatchNormFolding.Before1x1(a0, expand.weight!, expand.bias);
        (we, be) = BatchNormFolding.After(we, be, a1);
        var (wd, bd) = BatchNormFolding.After(depthwise.weight!, depthwise.bias, a2);
        var (wp, bp) = BatchNormFolding.After(project.weight!, project.bias, a3);
        var h = nn.functional.silu(nn.functional.conv2d(x, we, be));
        h = nn.functional.silu(nn.functional.conv2d(h, wd, bd, padding: new long[] { 2, 2 }, groups: h.shape[1]));
        return se.call(nn.functional.conv2d(h, wp, bp)).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (up) x = Up(x);
        var s = skip is null ? x : skip.call(x);
        return (s + scale * Branch(x)).MoveToOuterDisposeScope();
    }
}
