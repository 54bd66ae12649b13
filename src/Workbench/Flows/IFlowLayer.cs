using TorchSharp;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Flows;

/// <summary>
/// One invertible layer of a normalizing flow (Glow, Section 2, Eq. 1-3): <see cref="Forward"/> maps data-side
/// x to latent-side y and returns log|det(dy/dx)| per example ([B]); <see cref="Inverse"/> maps y back to x.
/// </summary>
public interface IFlowLayer
{
    (Tensor Y, Tensor LogDet) Forward(Tensor x);
    Tensor Inverse(Tensor y);
}

/// <summary>Base class of the flow layers: a TorchSharp module whose forward is <see cref="IFlowLayer.Forward"/>.</summary>
public abstract class FlowLayer : nn.Module<Tensor, (Tensor Y, Tensor LogDet)>, IFlowLayer
{
    protected FlowLayer(string name) : base(name) { }

    public (Tensor Y, Tensor LogDet) Forward(Tensor x) => call(x);

    public abstract Tensor Inverse(Tensor y);

    /// <summary>Product of the sizes after the channel axis (H*W for images, 1 for vectors): the factor of
    /// per-position log-determinants.</summary>
    protected static long SpatialSize(Tensor x)
    {
        long n = 1;
        for (int d = 2; d < x.dim(); d++) n *= x.shape[d];
        return n;
    }

    /// <summary>A per-example log-determinant [B] that is the same scalar for every example.</summary>
    protected static Tensor Broadcast(Tensor scalar, Tensor x) => scalar.expand(x.shape[0]);

    /// <summary>Shape [1, C, 1, 1] (or [1, C] for vectors) for a per-channel tensor broadcast over x.</summary>
    protected static long[] ChannelShape(Tensor x, long channels)
    {
        var s = new long[x.dim()];
        Array.Fill(s, 1L);
        s[1] = channels;
        return s;
    }

    protected static void CheckChannels(Tensor x, long channels, string layer)
    {
        if (x.dim() < 2 || x.shape[1] != channels)
            throw new ArgumentException(
                $"{layer}: expected input [B, {channels}, ...], got {Shapes.Of(x)}");
    }
}
