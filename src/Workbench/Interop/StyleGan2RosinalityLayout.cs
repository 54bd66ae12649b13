using TorchSharp;
using Workbench.Nn;
using Workbench.StyleGan2;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// rosinality/stylegan2-pytorch's <c>Generator</c> (model.py) as a name map onto <see cref="StyleGan2Generator"/>.
/// Their checkpoints are dicts: <c>g_ema</c> (the averaged generator: what samples), <c>g</c>, <c>d</c>, optimizer
/// states, and <c>latent_avg</c> in the files convert_weight.py made from NVlabs' (our <c>w_avg</c>). The rows, with
/// i a mapping layer, b ≥ 1 a synthesis block (resolution 4·2^b), j = b − 1:
/// <code>
/// style.{i+1}.weight / .bias                 mapping.fc.{i}.weight / .bias                  copy (both store weight/lr_mul, bias/lr_mul; lr_mul 0.01)
/// input.input [1, C, 4, 4]                   synthesis.blocks.0.constant.constant [C, 4, 4]
/// conv1.*                                    synthesis.blocks.0.conv1.*                     (the 4x4 style layer)
/// to_rgb1.*                                  synthesis.blocks.0.torgb.*
/// convs.{2j}.*   (upsampling)                synthesis.blocks.{b}.conv0.*
/// convs.{2j+1}.*                             synthesis.blocks.{b}.conv1.*
/// to_rgbs.{j}.*                              synthesis.blocks.{b}.torgb.*
///   .conv.weight [1, O, I, k, k]               .conv.weight [O, I, k, k]
///   .conv.modulation.weight / .bias            .conv.affine.weight / .bias                  (bias initialised to 1 in both)
///   .noise.weight [1]                          .noise.strength [1]
///   .activate.bias [C]  (FusedLeakyReLU)       .bias [C]
///   .bias [1, 3, 1, 1]  (ToRGB)                .bias [3]
///   .conv.blur.kernel, .upsample.kernel        (constant: [1,3,3,1] outer product / 64 × 4; we build ours)
/// noises.noise_{n} [1, 1, r, r]              the n-th style layer's noise.noise_const [r, r]
/// latent_avg [W] (top level)                 mapping.w_avg [W]
/// </code>
/// Their ModulatedConv2d computes what ours computes on the same stored weights (the fused grouped form; the
/// transposed stride-2 convolution then the blur for upsampling), so the rows are copies. NVlabs' official code
/// (TF and stylegan2-ada-pytorch) orients the upsampling convolutions' kernels the other way: convert_weight.py flips
/// Conv0_up's weight over both spatial axes when it writes rosinality's layout. A file in rosinality's layout whose
/// up-conv weights are still in NVlabs' orientation is read with <c>flipUpWeights</c> (and written back so).
/// </summary>
public static class StyleGan2RosinalityLayout
{
    /// <summary>The config a generator state dict fits, inferred from its shapes (mapping lr multiplier assumed 0.01,
    /// stylegan2-pytorch's lr_mlp default). The channel counts per resolution must follow min(base / r, max).</summary>
    public static StyleGan2Config InferConfig(IReadOnlyDictionary<string, Tensor> g, string source)
    {
        long[] S(string key) => g.TryGetValue(key, out var t) ? t.shape
            : throw new LayoutMismatchException($"{source}: missing key {key}: not a stylegan2-pytorch Generator state dict (keys: {string.Join(", ", g.Keys.Take(8))}…)");
        int nMlp = 0;
        while (g.ContainsKey($"style.{nMlp + 1}.weight")) nMlp++;
        if (nMlp == 0) S("style.1.weight");
        var style = S("style.1.weight");
        int blocks = 0;
        while (g.ContainsKey($"to_rgbs.{blocks}.conv.weight")) blocks++;
        int resolution = 4 << blocks;
        var channels = new SortedDictionary<int, long> { [4] = S("conv1.conv.weight")[1] };
        for (int j = 0; j < blocks; j++) channels[8 << j] = S($"convs.{2 * j}.conv.weight")[1];
        long cmax = channels.Values.Max();
        // ChannelBase from the largest resolution below the cap (rosinality: 16384 × channel_multiplier, cap 512).
        var belowCap = channels.Where(kv => kv.Value < cmax).ToList();
        long cbase = belowCap.Count > 0 ? belowCap[^1].Value * belowCap[^1].Key : cmax * resolution;
        var config = StyleGan2Config.Small with
        {
            Resolution = resolution, ImageChannels = (int)S("to_rgb1.conv.weight")[1], ZDim = (int)style[1], WDim = (int)style[0],
            MappingLayers = nMlp, MappingLrMul = 0.01, ChannelBase = (int)cbase, ChannelMax = (int)cmax, ChannelMultiplier = 1.0,
            FusedModconv = true, Demodulate = true,
        };
        var wrong = channels.Where(kv => config.Channels(kv.Key) != kv.Value).ToList();
        if (wrong.Count > 0)
            throw new LayoutMismatchException(
                $"{source}: channels per resolution {{{string.Join(", ", channels.Select(kv => $"{kv.Key}: {kv.Value}"))}}} do not follow min(base / r, max) for any base (tried base {cbase}, max {cmax})");
        return config;
    }

    /// <summary>The config in stylegan2-pytorch's own terms (size, style_dim, n_mlp, channel_multiplier or the table).</summary>
    public static string Describe(StyleGan2Config c)
    {
        bool table = c.ChannelMax == 512 && c.ChannelBase % 16384 == 0;
        var channels = table ? $"channel_multiplier={c.ChannelBase / 16384}"
            : "channels {" + string.Join(", ", Enumerable.Range(2, c.Log2Resolution - 1).Select(l => $"{1 << l}: {c.Channels(1 << l)}")) + "}";
        return $"stylegan2-pytorch Generator(size={c.Resolution}, style_dim={c.WDim}, n_mlp={c.MappingLayers}, {channels})" +
               (c.ImageChannels != 3 ? $" with {c.ImageChannels} image channels" : "");
    }

    /// <summary>Our keys outside the rows: the FIR kernels (rebuilt by our modules; their counterparts are checked
    /// constants) and w_avg (their top-level latent_avg, handled by <see cref="Import"/> and <see cref="Export(StyleGan2Generator, bool)"/>).</summary>
    public static bool FixedOurs(string key) => key.EndsWith(".fir", StringComparison.Ordinal) || key == "mapping.w_avg";

    /// <summary>The rows for a config (see the class summary).</summary>
    public static IReadOnlyList<TensorMap> Rows(StyleGan2Config c, bool flipUpWeights = false)
    {
        var rows = new List<TensorMap>();
        var noises = new List<TensorMap>();   // their noise buffers sit together under noises.*, after the layers
        for (int i = 0; i < c.MappingLayers; i++)
        {
            long fin = i == 0 ? c.ZDim : c.WDim;
            rows.Add(TensorMap.Copy($"style.{i + 1}.weight", $"mapping.fc.{i}.weight", new[] { (long)c.WDim, fin }));
            rows.Add(TensorMap.Copy($"style.{i + 1}.bias", $"mapping.fc.{i}.bias", new[] { (long)c.WDim }));
        }
        long c4 = c.Channels(4);
        rows.Add(TensorMap.Copy("input.input", "synthesis.blocks.0.constant.constant", new[] { 1L, c4, 4, 4 }));
        int noise = 0;
        StyledConv(rows, "conv1", "synthesis.blocks.0.conv1", c4, c4, c.WDim, 4, up: false, noise++, flip: false, noises);
        ToRgb(rows, "to_rgb1", "synthesis.blocks.0.torgb", c4, c.ImageChannels, c.WDim, up: false);
        for (int b = 1; (4 << b) <= c.Resolution; b++)
        {
            int j = b - 1, res = 4 << b;
            long cin = c.Channels(res / 2), cout = c.Channels(res);
            StyledConv(rows, $"convs.{2 * j}", $"synthesis.blocks.{b}.conv0", cin, cout, c.WDim, res, up: true, noise++, flipUpWeights, noises);
            StyledConv(rows, $"convs.{2 * j + 1}", $"synthesis.blocks.{b}.conv1", cout, cout, c.WDim, res, up: false, noise++, flip: false, noises);
            ToRgb(rows, $"to_rgbs.{j}", $"synthesis.blocks.{b}.torgb", cout, c.ImageChannels, c.WDim, up: true);
        }
        rows.AddRange(noises);
        return rows;
    }

    static void StyledConv(List<TensorMap> rows, string theirs, string ours, long cin, long cout, int wdim, int res, bool up, int noise, bool flip,
        List<TensorMap> noises)
    {
        var shape = new[] { 1L, cout, cin, 3, 3 };
        rows.Add(flip
            ? TensorMap.Convert($"{theirs}.conv.weight", $"{ours}.conv.weight", shape, t => t.flip(3, 4), o => o.unsqueeze(0).flip(3, 4),
                "flipped over both spatial axes: an upsampling kernel in NVlabs' orientation (stylegan2-pytorch's convert_weight.py flips Conv0_up)")
            : TensorMap.Copy($"{theirs}.conv.weight", $"{ours}.conv.weight", shape));
        if (up) rows.Add(TensorMap.Constant($"{theirs}.conv.blur.kernel", () => FirFilter.Create(FirFilter.Binomial4) * 4,
            "the [1, 3, 3, 1] FIR kernel × 4 of the blur after the transposed convolution"));
        rows.Add(TensorMap.Copy($"{theirs}.conv.modulation.weight", $"{ours}.conv.affine.weight", new[] { cin, (long)wdim }));
        rows.Add(TensorMap.Copy($"{theirs}.conv.modulation.bias", $"{ours}.conv.affine.bias", new[] { cin }));
        rows.Add(TensorMap.Copy($"{theirs}.noise.weight", $"{ours}.noise.strength", new[] { 1L }));
        rows.Add(TensorMap.Copy($"{theirs}.activate.bias", $"{ours}.bias", new[] { cout }));
        noises.Add(TensorMap.Copy($"noises.noise_{noise}", $"{ours}.noise.noise_const", new[] { 1L, 1, res, res }));
    }

    static void ToRgb(List<TensorMap> rows, string theirs, string ours, long cin, int channels, int wdim, bool up)
    {
        if (up) rows.Add(TensorMap.Constant($"{theirs}.upsample.kernel", () => FirFilter.Create(FirFilter.Binomial4) * 4,
            "the [1, 3, 3, 1] FIR kernel × 4 of the skip connection's upsampling"));
        rows.Add(TensorMap.Copy($"{theirs}.conv.weight", $"{ours}.conv.weight", new[] { 1L, channels, cin, 1, 1 }));
        rows.Add(TensorMap.Copy($"{theirs}.conv.modulation.weight", $"{ours}.conv.affine.weight", new[] { cin, (long)wdim }));
        rows.Add(TensorMap.Copy($"{theirs}.conv.modulation.bias", $"{ours}.conv.affine.bias", new[] { cin }));
        rows.Add(TensorMap.Copy($"{theirs}.bias", $"{ours}.bias", new[] { 1L, channels, 1, 1 }));
    }

    /// <summary>The generator state dict of a checkpoint: <paramref name="key"/> (g_ema by default, else g) of a
    /// stylegan2-pytorch checkpoint dict, or the dict itself when it is a bare state dict.</summary>
    public static (Dictionary<string, Tensor> State, string Key) GeneratorState(PyDict root, string source, string? key = null)
    {
        foreach (var k in key is null ? new[] { "g_ema", "g" } : new[] { key })
            if (root.TryGet(k, out var v) && v is PyDict d) return (TorchCheckpoint.StateDict(d), k);
        if (key is null && root.TryGet("style.1.weight", out _)) return (TorchCheckpoint.StateDict(root), "");
        throw new LayoutMismatchException(
            $"{source}: no generator state dict under {(key is null ? "'g_ema' or 'g'" : $"'{key}'")} (top-level keys: {string.Join(", ", root.Keys)})");
    }

    /// <summary>Reads a stylegan2-pytorch checkpoint into a new generator: config inferred, every tensor checked, w_avg
    /// from <c>latent_avg</c> when the file has it (else left to the caller: see <see cref="HasLatentAvg"/>).</summary>
    public static StyleGan2Generator Import(PyDict root, string source, bool flipUpWeights = false, string? key = null)
    {
        var (state, k) = GeneratorState(root, source, key);
        var where = k.Length > 0 ? $"{source} [{k}]" : source;
        var config = InferConfig(state, where);
        var g = new StyleGan2Generator(config);
        try
        {
            NameMap.Load(Rows(config, flipUpWeights), state, g, where, Describe(config), FixedOurs);
            if (root.TryGet("latent_avg", out var avg) && avg is Tensor a)
            {
                if (a.numel() != config.WDim) throw new LayoutMismatchException($"{source}: latent_avg {NameMap.Shape(a.shape)} for style_dim {config.WDim}");
                using var _ = no_grad();
                g.WAvg.copy_(a.reshape(config.WDim));
            }
        }
        catch { g.Dispose(); throw; }
        return g;
    }

    /// <summary>Reads a stylegan2-pytorch checkpoint file into a new generator, ready to sample (the library's one call
    /// for notebooks and scripts; the CLI's <c>import pytorch</c> makes a run folder of the same): <see cref="Import"/>,
    /// then, when the file has no <c>latent_avg</c>, w_avg estimated by <see cref="EstimateWAvg"/>.</summary>
    public static StyleGan2Generator Open(string path, bool flipUpWeights = false, string? key = null)
    {
        var read = TorchCheckpoint.Read(path);
        try
        {
            var root = read as PyDict ?? throw new InvalidDataException($"{path}: the checkpoint is not a dict");
            var g = Import(root, path, flipUpWeights, key);
            if (!HasLatentAvg(root)) EstimateWAvg(g);
            return g;
        }
        finally { TorchCheckpoint.DisposeTensors(read); }
    }

    /// <summary>w_avg as the mean of f(z) over 4,096 standard-normal z drawn with seed 0 (what stylegan2-pytorch's
    /// generate.py does for truncation when a checkpoint has no latent_avg).</summary>
    public static void EstimateWAvg(StyleGan2Generator g)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var z = g.SampleZ(4096, seed: 0, device: g.WAvg.device);
        g.WAvg.copy_(g.Mapping.call(z).mean(new long[] { 0 }));
    }

    /// <summary>Whether the checkpoint carries the truncation centre (convert_weight.py's files do, train.py's do not).</summary>
    public static bool HasLatentAvg(PyDict root) => root.TryGet("latent_avg", out var a) && a is Tensor;

    /// <summary>Our generator as a stylegan2-pytorch checkpoint dict: <c>{"g_ema": state dict, "latent_avg": w_avg}</c>
    /// (what convert_weight.py writes, and what generate.py reads with <c>checkpoint["g_ema"]</c>).</summary>
    public static PyDict Export(StyleGan2Generator g, bool flipUpWeights = false)
    {
        var root = new PyDict();
        root.Set("g_ema", NameMap.Save(Rows(g.Config, flipUpWeights), g, FixedOurs));
        root.Set("latent_avg", g.WAvg.detach().cpu().clone());
        return root;
    }

    /// <summary>A whole GAN as a stylegan2-pytorch checkpoint dict in train.py's key order: <c>{"g": the trained
    /// generator, "d": the discriminator (<see cref="StyleGan2RosinalityDiscriminatorLayout"/>), "g_ema": the averaged
    /// generator, "latent_avg": its w_avg}</c>. train.py's optimizer states (<c>g_optim</c>, <c>d_optim</c>) and
    /// <c>args</c> are not written.</summary>
    public static PyDict Export(StyleGan2Generator gEma, StyleGan2Generator g, StyleGan2Discriminator d, bool flipUpWeights = false)
    {
        var root = new PyDict();
        root.Set("g", NameMap.Save(Rows(g.Config, flipUpWeights), g, FixedOurs));
        root.Set("d", StyleGan2RosinalityDiscriminatorLayout.Export(d));
        foreach (var (k, v) in Export(gEma, flipUpWeights).Items) root.Set(k, v);
        return root;
    }
}
