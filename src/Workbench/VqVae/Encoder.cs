using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// VQ-VAE's encoder (van den Oord et al. 2017, Section 4.1): <c>downsamples</c> stride-2 4×4 convolutions with ReLUs (the
/// first ones to hidden/2 units, the last to hidden), a 3×3 convolution, residual blocks (<see cref="VqResidualBlock"/>)
/// and a final ReLU. Each stride-2 convolution halves the side (⌊(s − 2)/2⌋ + 1). Its output is z_e(x) before the
/// 1×1 projection to the code dimension (<see cref="VqVae"/> holds that). VQ-VAE-2's top encoder is one of these with a
/// single downsampling, reading the bottom encoder's features.
/// </summary>
public sealed class Encoder : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<Conv2d> downsample;
    readonly Conv2d conv;
    readonly ModuleList<VqResidualBlock> blocks;

    public Encoder(long inChannels, long hidden, long residualHidden, int residualBlocks, int downsamples) : base(nameof(Encoder))
    {
        if (downsamples < 1) throw new ArgumentOutOfRangeException(nameof(downsamples), downsamples, "the encoder needs at least one stride-2 convolution");
        var convs = new List<Conv2d>();
        long c = inChannels;
        for (int i = 0; i < downsamples; i++)
        {
            long o = i == downsamples - 1 ? hidden : hidden / 2;
            convs.Add(nn.Conv2d(c, o, 4, stride: 2, padding: 1));
            c = o;
        }
        downsample = new ModuleList<Conv2d>(convs.ToArray());
        conv = nn.Conv2d(hidden, hidden, 3, padding: 1);
        blocks = new ModuleList<VqResidualBlock>(Enumerable.Range(0, residualBlocks).Select(_ => new VqResidualBlock(hidden, residualHidden)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var d in downsample) h = nn.functional.relu(d.call(h));
        h = conv.call(h);
        foreach (var b in blocks) h = b.call(h);
        return nn.functional.relu(h).MoveToOuterDisposeScope();
    }
}
