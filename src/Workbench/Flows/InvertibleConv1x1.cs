using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Flows;

/// <summary>
/// Invertible 1x1 convolution (Glow, Section 3.2, Eq. 9, Table 1 row 2): y = W x at every position, a learned
/// generalisation of a channel permutation; log|det| = H*W*log|det W| (linalg.slogdet). W starts as a random
/// rotation (Q of a QR decomposition of a Gaussian matrix), so log|det W| = 0 at initialisation.
/// Works on images [B, C, H, W] and on vectors [B, C].
/// </summary>
public sealed class InvertibleConv1x1 : FlowLayer
{
    readonly Parameter weight;

    /// <summary>A random rotation of <paramref name="channels"/> channels (libtorch's generator).</summary>
    public InvertibleConv1x1(long channels) : this(RandomRotation(channels)) { }

    /// <summary>Starts from a given invertible C x C matrix (copied).</summary>
    public InvertibleConv1x1(Tensor initialWeight) : base(nameof(InvertibleConv1x1))
    {
        if (initialWeight.dim() != 2 || initialWeight.shape[0] != initialWeight.shape[1])
            throw new ArgumentException($"InvertibleConv1x1: weight must be square [C, C], got {Shapes.Of(initialWeight)}");
        Channels = initialWeight.shape[0];
        weight = nn.Parameter(initialWeight.detach().clone());
        RegisterComponents();
    }

    public long Channels { get; }

    /// <summary>The current C x C matrix W.</summary>
    public Tensor Weight => weight;

    /// <summary>Q from the QR decomposition of a standard Gaussian matrix: orthogonal, |det| = 1.</summary>
    public static Tensor RandomRotation(long channels)
    {
        using var scope = NewDisposeScope();
        var (q, _) = linalg.qr(randn(channels, channels));
        return q.contiguous().MoveToOuterDisposeScope();
    }

    internal static Tensor Apply(Tensor x, Tensor w) =>
        x.dim() == 2 ? x.matmul(w.t()) : nn.functional.conv2d(x, w.view(w.shape[0], w.shape[1], 1, 1));

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Channels, nameof(InvertibleConv1x1));
        var (_, logabsdet) = linalg.slogdet(weight);
        return (Apply(x, weight), Broadcast(logabsdet * SpatialSize(x), x));
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Channels, nameof(InvertibleConv1x1));
        return Apply(y, linalg.inv(weight));
    }
}
