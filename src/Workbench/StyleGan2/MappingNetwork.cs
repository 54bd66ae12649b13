using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// The mapping network f: Z → W of StyleGAN (Karras et al. 2019, Section 2), unchanged in StyleGAN2: z is normalised
/// to unit second moment ("pixel norm"), then <c>layers</c> fully connected layers with equalized learning rate,
/// learning-rate multiplier 0.01 and leaky ReLU (0.2, gain √2). It keeps a running average of w
/// (<c>w_avg</c>, a buffer updated with decay <see cref="WAvgDecay"/> during training) for the truncation trick.
/// </summary>
public sealed class MappingNetwork : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<EqualizedLinear> fc;
    private readonly Tensor w_avg;

    public MappingNetwork(int zDim, int wDim, int layers = 8, double lrMul = 0.01, double wAvgDecay = 0.995)
        : base(nameof(MappingNetwork))
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "the mapping network needs at least one layer");
        ZDim = zDim;
        WDim = wDim;
        WAvgDecay = wAvgDecay;
        fc = new ModuleList<EqualizedLinear>();
        for (int i = 0; i < layers; i++)
            fc.Add(new EqualizedLinear(i == 0 ? zDim : wDim, wDim, bias: true, lrMul: lrMul));
        w_avg = zeros(wDim);
        register_buffer("w_avg", w_avg);
        RegisterComponents();
    }

    public int ZDim { get; }
    public int WDim { get; }
    public int Layers => fc.Count;
    public double WAvgDecay { get; }

    /// <summary>The tracked average of w (a buffer: saved with the state dict, not trained).</summary>
    public Tensor WAvg => w_avg;

    /// <summary>Normalises each z to unit second moment: z / sqrt(mean(z²) + 1e-8).</summary>
    public static Tensor NormalizeZ(Tensor z)
    {
        using var scope = NewDisposeScope();
        return (z * (z.square().mean(new long[] { 1 }, keepdim: true) + 1e-8).rsqrt()).MoveToOuterDisposeScope();
    }

    /// <summary>w = f(z) for z [N, zDim]: returns [N, wDim]. Does not touch the average (see <see cref="UpdateWAvg"/>).</summary>
    public override Tensor forward(Tensor z)
    {
        Shapes.Expect(z, "MappingNetwork: z", "N", ZDim);
        using var scope = NewDisposeScope();
        var x = NormalizeZ(z);
        foreach (var layer in fc) x = ScaledLeakyRelu.Apply(layer.call(x));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>w_avg ← lerp(mean_batch(w), w_avg, decay): the exponential average the truncation trick pulls towards.</summary>
    public void UpdateWAvg(Tensor w)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var m = w.detach().reshape(-1, WDim).mean(new long[] { 0 });
        w_avg.copy_(m + (w_avg - m) * WAvgDecay);
    }

    /// <summary>
    /// The truncation trick (StyleGAN Section 3.2 / StyleGAN2 Appendix): w' = w_avg + ψ (w − w_avg) on the layers
    /// before <paramref name="cutoff"/> (all layers when null). ws: [N, numWs, wDim].
    /// </summary>
    public Tensor Truncate(Tensor ws, double psi, int? cutoff = null)
    {
        if (psi == 1.0) return ws.alias();
        using var scope = NewDisposeScope();
        var avg = w_avg.to(ws.device).to(ws.dtype);
        var t = avg + (ws - avg) * psi;
        if (cutoff is int c && c < ws.shape[1])
            t = cat(new[] { t[.., ..c], ws[.., c..] }, 1);
        return t.MoveToOuterDisposeScope();
    }
}
