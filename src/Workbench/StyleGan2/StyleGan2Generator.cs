using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// The StyleGAN2 generator: <see cref="MappingNetwork"/> f: Z → W, then the skip <see cref="SynthesisNetwork"/>
/// driven by one w per layer. Latent access without projection: <see cref="MapToW"/> gives per-layer ws
/// [N, NumWs, WDim] (equal rows unless mixed), <see cref="Synthesize"/> renders any ws (style mixing, traversals in
/// W), <see cref="Sample"/> draws images with the truncation trick. Images are in [−1, 1].
/// </summary>
public sealed class StyleGan2Generator : nn.Module<Tensor, Tensor>
{
    private readonly MappingNetwork mapping;
    private readonly SynthesisNetwork synthesis;

    public StyleGan2Generator(StyleGan2Config config) : base(nameof(StyleGan2Generator))
    {
        config.Validate();
        Config = config;
        mapping = new MappingNetwork(config.ZDim, config.WDim, config.MappingLayers, config.MappingLrMul, config.WAvgDecay);
        synthesis = new SynthesisNetwork(config);
        RegisterComponents();
    }

    public StyleGan2Config Config { get; }
    public MappingNetwork Mapping => mapping;
    public SynthesisNetwork Synthesis => synthesis;
    public int NumWs => Config.NumWs;

    /// <summary>The tracked average w [WDim].</summary>
    public Tensor WAvg => mapping.WAvg;

    /// <summary>Images for z [N, ZDim] with fresh noise and no truncation (what the discriminator sees in training).</summary>
    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        return synthesis.Forward(MapToW(z), NoiseMode.Random).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ws = broadcast f(z) to [N, NumWs, WDim], truncated towards w_avg by <paramref name="psi"/> on the layers
    /// before <paramref name="truncationCutoff"/> (all when null). <paramref name="updateWAvg"/> updates the tracked
    /// average (the trainer does this on its generator steps).
    /// </summary>
    public Tensor MapToW(Tensor z, double psi = 1.0, int? truncationCutoff = null, bool updateWAvg = false)
    {
        using var scope = NewDisposeScope();
        var w = mapping.call(z);
        if (updateWAvg) mapping.UpdateWAvg(w);
        var ws = w[.., TensorIndex.None].expand(-1, NumWs, -1);
        if (psi != 1.0) ws = mapping.Truncate(ws, psi, truncationCutoff);
        return ws.MoveToOuterDisposeScope();
    }

    /// <summary>Images [N, C, R, R] for per-layer ws [N, NumWs, WDim].</summary>
    public Tensor Synthesize(Tensor ws, NoiseMode noise = NoiseMode.Random) => synthesis.Forward(ws, noise);

    /// <summary>
    /// Style mixing (Section 3 of StyleGAN; the regulariser of StyleGAN2's training): ws1 before layer
    /// <paramref name="crossover"/>, ws2 from it on.
    /// </summary>
    public static Tensor MixStyles(Tensor ws1, Tensor ws2, int crossover)
    {
        if (crossover <= 0) return ws2.alias();
        if (crossover >= ws1.shape[1]) return ws1.alias();
        return cat(new[] { ws1[.., ..crossover], ws2[.., crossover..] }, 1);
    }

    /// <summary>
    /// n images under no_grad in eval mode with truncation ψ (1 = none, 0 = the average face), from a seeded
    /// generator when <paramref name="seed"/> is given (the same seed gives the same z's on any device).
    /// </summary>
    public Tensor Sample(int n, double psi = 1.0, long? seed = null, int? truncationCutoff = null, NoiseMode noise = NoiseMode.Const)
    {
        bool wasTraining = training;
        eval();
        try
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var z = SampleZ(n, seed, WAvg.device);
            var img = Synthesize(MapToW(z, psi, truncationCutoff), noise);
            return img.MoveToOuterDisposeScope();
        }
        finally { if (wasTraining) train(); }
    }

    /// <summary>z ~ N(0, I) [n, ZDim], from its own generator when seeded (drawn on the CPU, then moved).</summary>
    public Tensor SampleZ(int n, long? seed = null, Device? device = null)
    {
        device ??= WAvg.device;
        if (seed is long s)
        {
            using var g = new torch.Generator((ulong)s);
            var z = randn(new long[] { n, Config.ZDim }, generator: g);
            if (device.type == DeviceType.CPU) return z;
            using (z) return z.to(device);
        }
        return randn(new long[] { n, Config.ZDim }, device: device);
    }
}
