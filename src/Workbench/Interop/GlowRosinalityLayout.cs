using TorchSharp;
using Workbench.Flows;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// rosinality/glow-pytorch's <c>Glow</c> (model.py) as a name map onto our <see cref="Glow"/> built with
/// <see cref="GlowPadding.Ones"/>. Its train.py saves the state dict of an nn.DataParallel wrapper, so keys may
/// start with <c>module.</c> (stripped on import; export writes the bare model's keys). With b a block (our level),
/// k a flow step, C the step's channels, H the coupling width:
/// <code>
/// blocks.{b}.flows.{k}.actnorm.loc [1,C,1,1]          levels.{b}.layers.{k}.layers.0.bias [C]        copy
/// blocks.{b}.flows.{k}.actnorm.scale [1,C,1,1]        levels.{b}.layers.{k}.layers.0.logs [C]        logs = log(scale) / factor
///                                                      (y = scale·(x + loc) there, (x + bias)·exp(factor·logs) here)
/// blocks.{b}.flows.{k}.actnorm.initialized []  uint8  levels.{b}.layers.{k}.layers.0.initialized [1]
/// blocks.{b}.flows.{k}.invconv.weight [C,C,1,1]       levels.{b}.layers.{k}.layers.1.weight [C,C]    (conv_lu=False)
/// blocks.{b}.flows.{k}.invconv.w_p / w_l / w_s / w_u  levels.{b}.layers.{k}.layers.1.p / lower / log_s / upper
///   .s_sign / .l_mask / .u_mask / .l_eye                .sign_s / lower_mask / upper_mask / eye      (conv_lu=True)
/// blocks.{b}.flows.{k}.coupling.net.0.weight / bias   levels.{b}.layers.{k}.layers.2.net.conv1.*     (3x3, zero padding)
/// blocks.{b}.flows.{k}.coupling.net.2.weight / bias   levels.{b}.layers.{k}.layers.2.net.conv2.*     (1x1)
/// blocks.{b}.flows.{k}.coupling.net.4.conv.* / scale  levels.{b}.layers.{k}.layers.2.net.conv3.conv.* / logs
///                                                      affine: output halves swapped (theirs: log-scale then shift;
///                                                      ours: shift then log-scale); additive: copy
/// blocks.{b}.prior.conv.* / scale  (b not last)       splits.{b}.prior.conv.* / logs                 copy (mean, then log-std)
/// blocks.{last}.prior.conv.* / scale                  prior.conv.conv.* / logs                       copy (applied to zeros)
/// </code>
/// Their ZeroConv2d pads with ones (<c>F.pad(…, value=1)</c>), which <see cref="GlowPadding.Ones"/> reproduces. Their
/// last block always uses the LU convolution (model.py builds it without passing conv_lu), so with conv_lu=False the
/// top level's LU factors become our dense weight W = P·(L + I)·(U + diag(sign·exp(s))) on import, and export
/// decomposes W again (<see cref="InvertibleConv1x1LU"/>): that level's round trip is exact to float rounding only.
/// </summary>
public static class GlowRosinalityLayout
{
    const string ModulePrefix = "module.";

    /// <summary>The model's state dict with the nn.DataParallel prefix removed.</summary>
    public static Dictionary<string, Tensor> State(PyDict root, string source)
    {
        var state = TorchCheckpoint.StateDict(root);
        if (state.Count == 0)
            throw new LayoutMismatchException($"{source}: no tensors at the top level (keys: {string.Join(", ", root.Keys.Take(8))}): not a glow-pytorch state dict");
        return state.ToDictionary(kv => kv.Key.StartsWith(ModulePrefix, StringComparison.Ordinal) ? kv.Key[ModulePrefix.Length..] : kv.Key, kv => kv.Value);
    }

    /// <summary>
    /// The config a state dict fits (levels, steps, width, coupling, LU or not from the shapes; learned top prior,
    /// ActNorm with log-scale factor 1 and ones padding as glow-pytorch), and the image channels. The image size is not
    /// in the file (the convolutions do not depend on it): the caller gives it.
    /// </summary>
    public static (GlowConfig Config, long Channels) InferConfig(IReadOnlyDictionary<string, Tensor> s, string source, int nBits)
    {
        long[] S(string key) => s.TryGetValue(key, out var t) ? t.shape
            : throw new LayoutMismatchException($"{source}: missing key {key}: not a glow-pytorch Glow state dict (keys: {string.Join(", ", s.Keys.Take(8))}…)");
        int levels = 0;
        while (s.Keys.Any(k => k.StartsWith($"blocks.{levels}.", StringComparison.Ordinal))) levels++;
        int steps = 0;
        while (s.Keys.Any(k => k.StartsWith($"blocks.0.flows.{steps}.", StringComparison.Ordinal))) steps++;
        if (levels == 0 || steps == 0) S("blocks.0.flows.0.actnorm.loc");
        long c = S("blocks.0.flows.0.actnorm.loc")[1];
        long hidden = S("blocks.0.flows.0.coupling.net.0.weight")[0];
        bool affine = S("blocks.0.flows.0.coupling.net.4.conv.weight")[0] == c;
        bool lu = s.ContainsKey("blocks.0.flows.0.invconv.w_p") || levels == 1;
        var config = new GlowConfig
        {
            Levels = levels, StepsPerLevel = steps, HiddenChannels = (int)hidden, Coupling = affine ? Coupling.Affine : Coupling.Additive,
            Permutation = lu ? Permutation.Conv1x1LU : Permutation.Conv1x1, LearnTopPrior = true, ActNorm = true, NBits = nBits,
            Padding = GlowPadding.Ones, ActNormLogScaleFactor = 1,
        };
        return (config, c / 4);
    }

    /// <summary>The config in glow-pytorch's own terms.</summary>
    public static string Describe(GlowConfig c, long channels) =>
        $"glow-pytorch Glow(in_channel={channels}, n_flow={c.StepsPerLevel}, n_block={c.Levels}, affine={(c.Coupling == Coupling.Affine ? "True" : "False")}, " +
        $"conv_lu={(c.Permutation == Permutation.Conv1x1LU ? "True" : "False")}) with coupling width {c.HiddenChannels}";

    /// <summary>The rows for a config on images of <paramref name="channels"/> channels (see the class summary).</summary>
    public static IReadOnlyList<TensorMap> Rows(GlowConfig config, long channels)
    {
        if (config.Padding != GlowPadding.Ones || !config.LearnTopPrior || !config.ActNorm
            || config.Permutation is not (Permutation.Conv1x1 or Permutation.Conv1x1LU))
            throw new LayoutMismatchException(
                $"Glow {config}: glow-pytorch's layout needs ones padding, a learned top prior, ActNorm and an invertible 1x1 convolution (plain or LU)");
        var rows = new List<TensorMap>();
        long c = channels;
        double factor = config.ActNormLogScaleFactor;
        long h = config.HiddenChannels;
        for (int b = 0; b < config.Levels; b++)
        {
            c *= 4;
            bool last = b == config.Levels - 1;
            for (int k = 0; k < config.StepsPerLevel; k++)
            {
                string t = $"blocks.{b}.flows.{k}.", o = $"levels.{b}.layers.{k}.layers.";
                var cs = new[] { 1L, c, 1, 1 };
                rows.Add(TensorMap.Copy(t + "actnorm.loc", o + "0.bias", cs));
                string scaleKey = t + "actnorm.scale";
                rows.Add(TensorMap.Convert(scaleKey, o + "0.logs", cs,
                    s => s.le(0).any().item<bool>()
                        ? throw new LayoutMismatchException($"{scaleKey}: non-positive scales (their log|scale| allows a sign; our ActNorm's exp(log-scale) does not)")
                        : s.log() / factor,
                    l => (l * factor).exp(), $"logs = log(scale) / {factor} (ActNorm y = scale·(x + loc) there, (x + bias)·exp({factor}·logs) here)"));
                rows.Add(TensorMap.Convert(t + "actnorm.initialized", o + "0.initialized", Array.Empty<long>(),
                    i => i.to(ScalarType.Float32), i => i.ne(0).to(ScalarType.Byte).reshape(Array.Empty<long>()), "uint8 flag to float"));
                rows.AddRange(InvConv(t + "invconv.", o + "1.", c, lu: config.Permutation == Permutation.Conv1x1LU, theirLu: last || config.Permutation == Permutation.Conv1x1LU));
                long half = c / 2, outC = config.Coupling == Coupling.Affine ? c : c - c / 2;
                rows.Add(TensorMap.Copy(t + "coupling.net.0.weight", o + "2.net.conv1.weight", new[] { h, half, 3, 3 }));
                rows.Add(TensorMap.Copy(t + "coupling.net.0.bias", o + "2.net.conv1.bias", new[] { h }));
                rows.Add(TensorMap.Copy(t + "coupling.net.2.weight", o + "2.net.conv2.weight", new[] { h, h, 1, 1 }));
                rows.Add(TensorMap.Copy(t + "coupling.net.2.bias", o + "2.net.conv2.bias", new[] { h }));
                foreach (var (their, our, shape) in new[]
                {
                    ("coupling.net.4.conv.weight", "2.net.conv3.conv.weight", new[] { outC, h, 3, 3 }),
                    ("coupling.net.4.conv.bias", "2.net.conv3.conv.bias", new[] { outC }),
                    ("coupling.net.4.scale", "2.net.conv3.logs", new[] { 1L, outC, 1, 1 }),
                })
                    rows.Add(config.Coupling == Coupling.Affine
                        ? TensorMap.Convert(t + their, o + our, shape, SwapHalves, SwapHalves,
                            "output channel halves swapped: their coupling net gives (log-scale, shift), ours (shift, log-scale)")
                        : TensorMap.Copy(t + their, o + our, shape));
            }
            string p = $"blocks.{b}.prior.", q = last ? "prior.conv." : $"splits.{b}.prior.";
            long pin = last ? c : c / 2, pout = last ? 2 * c : 2 * (c - c / 2);
            rows.Add(TensorMap.Copy(p + "conv.weight", q + "conv.weight", new[] { pout, pin, 3, 3 }));
            rows.Add(TensorMap.Copy(p + "conv.bias", q + "conv.bias", new[] { pout }));
            rows.Add(TensorMap.Copy(p + "scale", q + "logs", new[] { 1L, pout, 1, 1 }));
            c /= 2;
        }
        return rows;
    }

    /// <summary>Swaps the two halves of the output-channel axis (axis 1 of their scale [1, C, 1, 1], else axis 0):
    /// an involution, the same function both ways.</summary>
    static Tensor SwapHalves(Tensor t)
    {
        int axis = t.dim() == 4 && t.shape[0] == 1 && t.shape[2] == 1 && t.shape[3] == 1 ? 1 : 0;
        long n = t.shape[axis];
        return cat(new[] { t.narrow(axis, n / 2, n - n / 2), t.narrow(axis, 0, n / 2) }, axis);
    }

    /// <summary>The rows of one invertible 1x1 convolution (prefixes <paramref name="t"/> theirs, <paramref name="o"/> ours,
    /// <paramref name="c"/> channels); <paramref name="lu"/>: ours is the LU one; <paramref name="theirLu"/>: theirs is
    /// (always in their last block).</summary>
    static IEnumerable<TensorMap> InvConv(string t, string o, long c, bool lu, bool theirLu)
    {
        var m = new[] { c, c };
        if (!theirLu)
        {
            yield return TensorMap.Copy(t + "weight", o + "weight", new[] { c, c, 1, 1 });
            yield break;
        }
        if (lu)
        {
            yield return TensorMap.Copy(t + "w_l", o + "lower", m);
            yield return TensorMap.Copy(t + "w_s", o + "log_s", new[] { c });
            yield return TensorMap.Copy(t + "w_u", o + "upper", m);
            yield return TensorMap.Copy(t + "w_p", o + "p", m);
            yield return TensorMap.Copy(t + "u_mask", o + "upper_mask", m);
            yield return TensorMap.Copy(t + "l_mask", o + "lower_mask", m);
            yield return TensorMap.Copy(t + "s_sign", o + "sign_s", new[] { c });
            yield return TensorMap.Copy(t + "l_eye", o + "eye", m);
            yield break;
        }
        // Their LU layer onto our dense weight (their last block with conv_lu=False).
        string[] keys = { "w_l", "w_s", "w_u", "w_p", "u_mask", "l_mask", "s_sign", "l_eye" };
        yield return new TensorMap(keys.Select(k => t + k).ToArray(), o + "weight",
            new[] { m, new[] { c }, m, m, m, m, new[] { c }, m },
            x => x[3].matmul(x[0] * x[5] + x[7]).matmul(x[2] * x[4] + diag(x[6] * x[1].exp())),
            w =>
            {
                using var layer = new InvertibleConv1x1LU(w!.detach().cpu());
                var sd = layer.state_dict();
                return new[] { "lower", "log_s", "upper", "p", "upper_mask", "lower_mask", "sign_s", "eye" }.Select(k => sd[k].clone()).ToArray();
            },
            "their last block's LU factors multiplied out into our dense weight W = P·(L·mask + I)·(U·mask + diag(sign·exp(s)))");
    }

    /// <summary>Reads a glow-pytorch checkpoint into a new Glow for images [channels, height, width] of n-bit data.</summary>
    public static Glow Import(PyDict root, string source, int height, int width, int nBits = 5)
    {
        var state = State(root, source);
        var (config, channels) = InferConfig(state, source, nBits);
        var model = new Glow(config, channels, height, width);
        try { NameMap.Load(Rows(config, channels), state, model, source, Describe(config, channels)); }
        catch { model.Dispose(); throw; }
        return model;
    }

    /// <summary>Reads a glow-pytorch checkpoint file into a new Glow for square images of side <paramref name="size"/>
    /// and <paramref name="nBits"/>-bit data (neither is in the file; glow-pytorch's train.py defaults are 64 and 5): the
    /// library's one call for notebooks and scripts (the CLI's <c>import pytorch</c> makes a run folder of the same).</summary>
    public static Glow Open(string path, int size, int nBits = 5)
    {
        var root = TorchCheckpoint.Read(path);
        try
        {
            if (root is not PyDict dict) throw new InvalidDataException($"{path}: the checkpoint is not a dict");
            return Import(dict, path, size, size, nBits);
        }
        finally { TorchCheckpoint.DisposeTensors(root); }
    }

    /// <summary>Our Glow as glow-pytorch's state dict (the bare model's keys, without <c>module.</c>).</summary>
    public static PyDict Export(Glow model) => NameMap.Save(Rows(model.Config, model.Channels), model);
}
