using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// The padding of Glow's 3x3 convolutions in its reference code (openai/glow, <c>add_edge_padding</c> in tfops.py):
/// the input is padded with zeros and gets one more channel that is 1 on the padded border and 0 inside, with its
/// own weights, so a convolution can tell the image's edge from a dark pixel. That channel does not depend on the
/// data, so its contribution is a fixed map per output channel: conv3x3(concat(pad(x), border)) =
/// conv3x3(x, W_x, padding 1) + conv3x3(border, W_edge, no padding). <see cref="Map"/> computes the second term.
/// </summary>
public static class EdgePadding
{
    /// <summary>The extra input channel for an H×W input: [1, 1, H + 2, W + 2], 1 on the one-pixel border.</summary>
    public static Tensor Border(long height, long width, ScalarType dtype, Device device)
    {
        var border = ones(new long[] { 1, 1, height + 2, width + 2 }, dtype: dtype, device: device);
        border[.., .., 1..(int)(height + 1), 1..(int)(width + 1)] = 0;
        return border;
    }

    /// <summary>The border channel's contribution [1, O, H, W] for weights <paramref name="edgeWeight"/> [O, 1, 3, 3].</summary>
    public static Tensor Map(Tensor edgeWeight, long height, long width)
    {
        using var border = Border(height, width, edgeWeight.dtype, edgeWeight.device);
        return nn.functional.conv2d(border, edgeWeight);
    }

    /// <summary>A parameter [O, 1, 3, 3] for the border channel: zeros, or uniform(±1/√fan_in) with the fan-in of a
    /// 3x3 convolution over <paramref name="inChannels"/> + 1 channels (libtorch's default bound for the data weights).</summary>
    public static Parameter Weight(long outChannels, long inChannels, bool zero)
    {
        var w = zeros(outChannels, 1, 3, 3);
        if (!zero)
        {
            double bound = 1.0 / Math.Sqrt((inChannels + 1) * 9.0);
            using var _ = no_grad();
            w.uniform_(-bound, bound);
        }
        return nn.Parameter(w);
    }
}
