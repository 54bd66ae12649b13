using TorchSharp;
using Workbench.Nn;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// rosinality/stylegan2-pytorch's <c>Discriminator</c> (model.py; the <c>d</c> of its checkpoints) as a name map onto
/// <see cref="StyleGan2Discriminator"/>. Their ConvLayer is an nn.Sequential: [Blur (downsampling only), EqualConv2d
/// (no bias when activated), FusedLeakyReLU (the bias, leaky ReLU 0.2, ×√2)], so its tensors are numbered by position.
/// With R the resolution, k ≥ 1 a ResBlock, i = k − 1 our block (resolution R / 2^i), cin/cout its channels:
/// <code>
/// convs.0.0.weight [C_R, 3, 1, 1]      blocks.0.fromrgb.weight        (FromRGB: 1x1 ConvLayer)
/// convs.0.1.bias [C_R]                 blocks.0.fromrgb.bias
/// convs.{k}.conv1.0.weight             blocks.{i}.conv0.weight         3x3, cin → cin
/// convs.{k}.conv1.1.bias               blocks.{i}.conv0.bias
/// convs.{k}.conv2.0.kernel [4, 4]      (constant: the [1,3,3,1] outer product / 64, the blur before the stride-2 conv)
/// convs.{k}.conv2.1.weight             blocks.{i}.conv1.weight         3x3 stride 2, cin → cout
/// convs.{k}.conv2.2.bias               blocks.{i}.conv1.bias
/// convs.{k}.skip.0.kernel [4, 4]       (constant, as conv2.0.kernel)
/// convs.{k}.skip.1.weight              blocks.{i}.skip.weight          1x1 stride 2, no bias, no activation
/// final_conv.0.weight [C4, C4+1, 3, 3] epilogue.conv.weight            (after the minibatch-stddev feature)
/// final_conv.1.bias                    epilogue.conv.bias
/// final_linear.0.weight / .bias        epilogue.fc.weight / .bias      EqualLinear + fused lrelu, lr_mul 1
/// final_linear.1.weight / .bias        epilogue.output.weight / .bias  EqualLinear, one logit
/// </code>
/// All rows are copies: their EqualConv2d / EqualLinear store what our <see cref="EqualizedConv2d"/> /
/// <see cref="EqualizedLinear"/> store (the same 1/√fan_in run-time gains), their blur pads what ours pads
/// ((2, 2) before a 3x3, (1, 1) before a 1x1), the residual sum is scaled by 1/√2 in both, and their minibatch
/// stddev (group min(N, 4), one feature, sample n in group slot n / (N/G)) is our <see cref="MinibatchStdDev"/>
/// with group 4 and 1 feature. Their output is [N, 1], ours [N]. Our discriminator is built from the generator's
/// <see cref="StyleGan2Config"/> (one config for both), so a <c>d</c> is read against the config of the <c>g_ema</c>
/// beside it: stylegan2-pytorch builds both with the same size and channel_multiplier, and a <c>d</c> whose channels
/// differ is refused by name.
/// </summary>
public static class StyleGan2RosinalityDiscriminatorLayout
{
    /// <summary>stylegan2-pytorch's fixed minibatch-stddev settings (stddev_group, stddev_feat).</summary>
    public const int StddevGroup = 4, StddevFeatures = 1;

    /// <summary>Our keys outside the rows: the FIR kernels of the downsampling convolutions (their counterparts are
    /// checked constants).</summary>
    public static bool FixedOurs(string key) => key.EndsWith(".fir", StringComparison.Ordinal);

    /// <summary>Throws (one line, naming the setting) when our discriminator for <paramref name="c"/> computes something
    /// stylegan2-pytorch's cannot: another minibatch-stddev group or feature count.</summary>
    public static void CheckRepresentable(StyleGan2Config c, string source)
    {
        if (c.MbstdGroupSize != StddevGroup || c.MbstdFeatures != StddevFeatures)
            throw new LayoutMismatchException(
                $"{source}: MbstdGroupSize={c.MbstdGroupSize}, MbstdFeatures={c.MbstdFeatures}: stylegan2-pytorch's Discriminator fixes stddev_group=4, stddev_feat=1");
    }

    /// <summary>The config in stylegan2-pytorch's terms, for messages.</summary>
    public static string Describe(StyleGan2Config c) =>
        $"stylegan2-pytorch Discriminator(size={c.Resolution}, channels {{{string.Join(", ", Enumerable.Range(2, c.Log2Resolution - 1).Select(l => $"{1 << l}: {c.Channels(1 << l)}"))}}})" +
        " (the generator's config: our discriminator shares it)";

    /// <summary>The rows for a config (see the class summary).</summary>
    public static IReadOnlyList<TensorMap> Rows(StyleGan2Config c)
    {
        var rows = new List<TensorMap>();
        long top = c.Channels(c.Resolution);
        rows.Add(TensorMap.Copy("convs.0.0.weight", "blocks.0.fromrgb.weight", new[] { top, c.ImageChannels, 1L, 1 }));
        rows.Add(TensorMap.Copy("convs.0.1.bias", "blocks.0.fromrgb.bias", new[] { top }));
        int k = 1;
        for (int res = c.Resolution; res > 4; res /= 2, k++)
        {
            int i = k - 1;
            long cin = c.Channels(res), cout = c.Channels(res / 2);
            rows.Add(TensorMap.Copy($"convs.{k}.conv1.0.weight", $"blocks.{i}.conv0.weight", new[] { cin, cin, 3L, 3 }));
            rows.Add(TensorMap.Copy($"convs.{k}.conv1.1.bias", $"blocks.{i}.conv0.bias", new[] { cin }));
            rows.Add(Blur($"convs.{k}.conv2.0.kernel"));
            rows.Add(TensorMap.Copy($"convs.{k}.conv2.1.weight", $"blocks.{i}.conv1.weight", new[] { cout, cin, 3L, 3 }));
            rows.Add(TensorMap.Copy($"convs.{k}.conv2.2.bias", $"blocks.{i}.conv1.bias", new[] { cout }));
            rows.Add(Blur($"convs.{k}.skip.0.kernel"));
            rows.Add(TensorMap.Copy($"convs.{k}.skip.1.weight", $"blocks.{i}.skip.weight", new[] { cout, cin, 1L, 1 }));
        }
        long c4 = c.Channels(4);
        rows.Add(TensorMap.Copy("final_conv.0.weight", "epilogue.conv.weight", new[] { c4, c4 + StddevFeatures, 3L, 3 }));
        rows.Add(TensorMap.Copy("final_conv.1.bias", "epilogue.conv.bias", new[] { c4 }));
        rows.Add(TensorMap.Copy("final_linear.0.weight", "epilogue.fc.weight", new[] { c4, c4 * 16 }));
        rows.Add(TensorMap.Copy("final_linear.0.bias", "epilogue.fc.bias", new[] { c4 }));
        rows.Add(TensorMap.Copy("final_linear.1.weight", "epilogue.output.weight", new[] { 1L, c4 }));
        rows.Add(TensorMap.Copy("final_linear.1.bias", "epilogue.output.bias", new[] { 1L }));
        return rows;
    }

    static TensorMap Blur(string theirs) => TensorMap.Constant(theirs, () => FirFilter.Create(FirFilter.Binomial4),
        "the [1, 3, 3, 1] FIR kernel (sum 1) of the blur before the stride-2 convolution");

    /// <summary>Whether the checkpoint holds a discriminator state dict under <c>d</c>.</summary>
    public static bool HasDiscriminator(PyDict root) => root.TryGet("d", out var d) && d is PyDict;

    /// <summary>Reads the checkpoint's <c>d</c> into a new discriminator for <paramref name="config"/> (the generator's,
    /// from <see cref="StyleGan2RosinalityLayout.Import"/>): every tensor checked, all problems listed by name.</summary>
    public static StyleGan2Discriminator Import(PyDict root, string source, StyleGan2Config config)
    {
        if (!root.TryGet("d", out var v) || v is not PyDict dict)
            throw new LayoutMismatchException($"{source}: no discriminator state dict under 'd' (top-level keys: {string.Join(", ", root.Keys)})");
        var where = $"{source} [d]";
        CheckRepresentable(config, where);
        var d = new StyleGan2Discriminator(config);
        try { NameMap.Load(Rows(config), TorchCheckpoint.StateDict(dict), d, where, Describe(config), FixedOurs); }
        catch { d.Dispose(); throw; }
        return d;
    }

    /// <summary>Our discriminator as stylegan2-pytorch's <c>Discriminator</c> state dict (their <c>d</c>).</summary>
    public static PyDict Export(StyleGan2Discriminator d)
    {
        CheckRepresentable(d.Config, "export");
        return NameMap.Save(Rows(d.Config), d, FixedOurs);
    }
}
