using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>PixelCNN mask types (van den Oord et al. 2016a, Section 3.5): A excludes the current pixel's own
/// channel group at the centre tap (first layer), B includes it (later layers).</summary>
public enum MaskType { A, B }

/// <summary>Which taps of the kernel a <see cref="MaskedConv2d"/> keeps.</summary>
public enum MaskRegion
{
    /// <summary>PixelCNN's raster mask: rows above the centre, taps left of the centre in the centre row, and the
    /// centre tap by channel group. With a 1×k kernel this is Gated PixelCNN's horizontal stack.</summary>
    Raster,
    /// <summary>Gated PixelCNN's vertical stack (2016b, Section 2.2): rows strictly above the centre (type A) or up to
    /// and including the centre row (type B), every channel.</summary>
    Vertical,
}

/// <summary>
/// PixelCNN's masked convolution (van den Oord et al. 2016a, Section 3.5, Figure 2): a kh×kw convolution (odd sides,
/// same padding) whose weights are multiplied by a fixed 0/1 mask, so output pixel i sees only input pixels before i
/// in raster order. Channels are split into <c>groups</c> contiguous groups (3 for RGB: R, G, B); at the centre tap
/// output group g sees input groups &lt; g (mask A) or ≤ g (mask B), so R sees only previous pixels, G also sees R of
/// the current pixel and B sees R and G. <c>outputBlocks</c> splits the output channels into equal blocks that each
/// carry all groups (the two halves of a gated activation). <c>mirror</c> reverses the order (flipped taps,
/// reversed groups); NVAE's <see cref="Nvae.AutoregressiveConv2d"/> builds its masks here.
/// </summary>
public sealed class MaskedConv2d : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly Tensor mask;   // a buffer: it moves with the module

    /// <param name="inChannels">input channels (at least <paramref name="groups"/>).</param>
    /// <param name="outChannels">output channels (at least <paramref name="groups"/> per output block).</param>
    /// <param name="kernelHeight">odd kernel height.</param>
    /// <param name="kernelWidth">odd kernel width.</param>
    /// <param name="type">mask A (first layer) or B (later layers).</param>
    /// <param name="groups">channel groups ordered within a pixel (3 for RGB, 1 for grey).</param>
    /// <param name="region">the raster mask or the vertical stack's.</param>
    /// <param name="outputBlocks">equal blocks of output channels, each spread over the groups.</param>
    public MaskedConv2d(long inChannels, long outChannels, int kernelHeight, int kernelWidth, MaskType type, long groups = 1,
        MaskRegion region = MaskRegion.Raster, int outputBlocks = 1) : base(nameof(MaskedConv2d))
    {
        mask = BuildMask(inChannels, outChannels, groups, kernelHeight, kernelWidth, type, region, outputBlocks: outputBlocks);
        conv = nn.Conv2d(inChannels, outChannels, (kernelHeight, kernelWidth), padding: (kernelHeight / 2, kernelWidth / 2));
        RegisterComponents();
        using (no_grad()) conv.weight!.mul_(mask);
    }

    /// <summary>A square masked convolution.</summary>
    public MaskedConv2d(long inChannels, long outChannels, int kernelSize, MaskType type, long groups = 1)
        : this(inChannels, outChannels, kernelSize, kernelSize, type, groups) { }

    /// <summary>The group (degree) of channel i of a layer with <paramref name="channels"/> channels: contiguous, even split.</summary>
    public static long Degree(long i, long channels, long groups) => i * groups / channels;

    /// <summary>
    /// The 0/1 mask [cout, cin, kh, kw]. Tap (y, x) reads the input at offset (y − kh/2, x − kw/2). Raster: taps before
    /// the centre in raster order are kept for every channel pair, the centre tap when the input group is &lt; (A) or ≤ (B)
    /// the output group, taps after it never. Vertical: rows above the centre row, and the centre row itself for B.
    /// </summary>
    public static Tensor BuildMask(long cin, long cout, long groups, int kh, int kw, MaskType type,
        MaskRegion region = MaskRegion.Raster, bool mirror = false, int outputBlocks = 1)
    {
        if (kh % 2 != 1 || kw % 2 != 1) throw new ArgumentException($"kernel sides must be odd, got {kh}×{kw}", nameof(kh));
        if (outputBlocks < 1 || cout % outputBlocks != 0)
            throw new ArgumentException($"outChannels = {cout} must split into outputBlocks = {outputBlocks} equal blocks", nameof(outputBlocks));
        long perBlock = cout / outputBlocks;
        if (cin < groups || perBlock < groups)
            throw new ArgumentException($"masked conv needs at least groups = {groups} channels in and per output block, got {cin} → {cout} in {outputBlocks} block(s)", nameof(groups));
        var m = new float[cout * cin * kh * kw];
        int cy = kh / 2, cx = kw / 2;
        for (long o = 0; o < cout; o++)
            for (long i = 0; i < cin; i++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                    {
                        int ty = mirror ? kh - 1 - y : y, tx = mirror ? kw - 1 - x : x;
                        long dOut = Degree(o % perBlock, perBlock, groups), dIn = Degree(i, cin, groups);
                        if (mirror) { dOut = groups - 1 - dOut; dIn = groups - 1 - dIn; }
                        bool allowed = region switch
                        {
                            MaskRegion.Vertical => type == MaskType.A ? ty < cy : ty <= cy,
                            _ => ty < cy || (ty == cy && tx < cx)
                                 || (ty == cy && tx == cx && (type == MaskType.A ? dIn < dOut : dIn <= dOut)),
                        };
                        m[((o * cin + i) * kh + y) * kw + x] = allowed ? 1f : 0f;
                    }
        return tensor(m, new[] { cout, cin, (long)kh, (long)kw });
    }

    public override Tensor forward(Tensor x) =>
        nn.functional.conv2d(x, conv.weight! * mask, conv.bias, padding: new[] { conv.padding![0], conv.padding![1] });

    /// <summary>The underlying conv (its weight is masked in the forward pass).</summary>
    public Conv2d Conv => conv;
}
