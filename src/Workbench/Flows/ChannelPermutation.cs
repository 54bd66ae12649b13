using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// A fixed channel permutation, log|det| = 0: the channel reversal of RealNVP (Dinh et al. 2016) or a fixed random
/// shuffle, the two baselines the invertible 1x1 convolution replaces (Glow, Section 3.2 and Figure 3).
/// </summary>
public sealed class ChannelPermutation : FlowLayer
{
    readonly Tensor perm;
    readonly Tensor inverse_perm;

    public ChannelPermutation(long[] permutation, string name = nameof(ChannelPermutation)) : base(name)
    {
        var sorted = permutation.OrderBy(i => i).ToArray();
        if (!sorted.SequenceEqual(Enumerable.Range(0, permutation.Length).Select(i => (long)i)))
            throw new ArgumentException($"ChannelPermutation: [{string.Join(", ", permutation)}] is not a permutation of 0..{permutation.Length - 1}");
        Channels = permutation.Length;
        var inv = new long[permutation.Length];
        for (int i = 0; i < permutation.Length; i++) inv[permutation[i]] = i;
        perm = tensor(permutation, ScalarType.Int64);
        inverse_perm = tensor(inv, ScalarType.Int64);
        RegisterComponents();
    }

    public long Channels { get; }

    /// <summary>RealNVP's channel reversal.</summary>
    public static ChannelPermutation Reverse(long channels) =>
        new(Enumerable.Range(0, (int)channels).Reverse().Select(i => (long)i).ToArray(), "Reverse");

    /// <summary>A fixed random shuffle drawn from <paramref name="seed"/> (independent of libtorch's generator).</summary>
    public static ChannelPermutation Shuffle(long channels, int seed)
    {
        var p = Enumerable.Range(0, (int)channels).Select(i => (long)i).ToArray();
        new Random(seed).Shuffle(p);
        return new ChannelPermutation(p, "Shuffle");
    }

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Channels, nameof(ChannelPermutation));
        return (x.index_select(1, perm), zeros(x.shape[0], dtype: x.dtype, device: x.device));
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Channels, nameof(ChannelPermutation));
        return y.index_select(1, inverse_perm);
    }
}
