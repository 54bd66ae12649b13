using static TorchSharp.torch;
using Workbench.Data;

namespace Workbench.StyleGan2;

/// <summary>
/// Attribute edits in StyleGAN's intermediate latent space W (Karras et al. 2019, Section 4: W is less entangled
/// than Z), found without an encoder: draw faces from z, score each with a reader of the attribute (e.g. the
/// <c>FactorRegressor</c>'s expression), and take the mean w of the top third minus the mean w of the bottom third,
/// as Glow's semantic manipulation does with labels (Kingma &amp; Dhariwal 2018, Figure 5). An edit adds a multiple of
/// the direction to every layer's w and synthesises with the generator's constant noise, so strength 0 gives the
/// faces back and only the edit changes between strengths.
/// </summary>
public static class WSpaceDirection
{
    /// <summary>The direction [WDim] from <paramref name="n"/> generated faces scored by <paramref name="score"/> (uint8 images → [N]).</summary>
    public static Tensor Direction(StyleGan2Generator g, Func<Tensor, Tensor> score, int n = 512, long seed = 0, int batch = 64)
    {
        if (n < 6) throw new ArgumentOutOfRangeException(nameof(n), n, "need at least 6 faces (thirds of at least 2)");
        using var scope = NewDisposeScope();
        var ws = Sample(g, n, seed);
        var scores = new List<Tensor>();
        for (int i = 0; i < n; i += batch)
            scores.Add(score(Synthesize(g, ws.narrow(0, i, Math.Min(batch, n - i)))).to(ScalarType.Float64).cpu().flatten());
        return Metrics.LatentDirection.FromScores(ws[.., 0].cpu(), cat(scores.ToArray()), fraction: 1.0 / 3).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Per-layer ws [n, NumWs, WDim] for z drawn from N(0, I) with <paramref name="seed"/> (no truncation).</summary>
    public static Tensor Sample(StyleGan2Generator g, int n, long seed)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var gen = new TorchSharp.torch.Generator((ulong)seed);
        var z = randn(new long[] { n, g.Config.ZDim }, generator: gen).to(g.parameters().First().device);
        return g.MapToW(z).MoveToOuterDisposeScope();
    }

    /// <summary>uint8 faces for ws, with the generator's constant noise, in eval mode.</summary>
    public static Tensor Synthesize(StyleGan2Generator g, Tensor ws)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Workbench.Training.EvalMode.Run(g, () => Preprocess.FromSigned(g.Synthesize(ws, NoiseMode.Const)).cpu()).MoveToOuterDisposeScope();
    }

    /// <summary>The faces of <paramref name="ws"/> moved by <paramref name="strength"/> × <paramref name="direction"/> on every layer.</summary>
    public static Tensor Apply(StyleGan2Generator g, Tensor ws, Tensor direction, double strength)
    {
        using var scope = NewDisposeScope();
        return Synthesize(g, ws + strength * direction.to(ws.dtype).to(ws.device)).MoveToOuterDisposeScope();
    }
}
