using TorchSharp;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Training;

/// <summary>
/// An exponential moving average of a module's weights kept in a shadow module of the same architecture
/// (StyleGAN2's G_ema, Karras et al. 2018 §4 / 2020 appendix B; also used for NVAE and flows at sampling time):
/// after each step <c>shadow ← β·shadow + (1 − β)·source</c> for every parameter. Buffers (e.g. running
/// statistics, noise constants) are copied as they are, as StyleGAN2-ADA does, unless <c>averageBuffers</c>.
/// Parameters are matched by name; the two modules must have the same names and shapes.
/// </summary>
public sealed class Ema
{
    readonly (Tensor Source, Tensor Shadow)[] _params;
    readonly (Tensor Source, Tensor Shadow, bool Average)[] _buffers;

    public Ema(nn.Module source, nn.Module shadow, bool averageBuffers = false)
    {
        Source = source ?? throw new ArgumentNullException(nameof(source));
        Shadow = shadow ?? throw new ArgumentNullException(nameof(shadow));
        if (ReferenceEquals(source, shadow)) throw new ArgumentException("the shadow must be a separate module", nameof(shadow));
        _params = Pair(source.named_parameters().Select(p => (p.name, (Tensor)p.parameter)),
                       shadow.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), "parameter");
        _buffers = Pair(source.named_buffers(), shadow.named_buffers(), "buffer")
            .Select(b => (b.Source, b.Shadow, averageBuffers && b.Source.is_floating_point())).ToArray();
        foreach (var (_, s) in _params) s.requires_grad_(false);
    }

    /// <summary>
    /// The averaged copy of <paramref name="source"/> that a trainer keeps: <paramref name="build"/> makes a module of the
    /// same architecture without consuming libtorch's global random stream (a run with the copy draws the same batches
    /// and noise as one without), on the source's device and dtype, with the source's weights.
    /// </summary>
    public static (TModule Shadow, Ema Ema) CreateShadow<TModule>(TModule source, Func<TModule> build) where TModule : nn.Module
    {
        TModule shadow;
        using (var saved = random.get_rng_state())
        {
            shadow = build();
            random.set_rng_state(saved);
        }
        var p = source.parameters().First();
        shadow.to(p.device).to(p.dtype);
        var ema = new Ema(source, shadow);
        ema.CopyFromSource();
        return (shadow, ema);
    }

    public nn.Module Source { get; }
    public nn.Module Shadow { get; }

    static (Tensor Source, Tensor Shadow)[] Pair(IEnumerable<(string name, Tensor t)> src, IEnumerable<(string name, Tensor t)> dst, string what)
    {
        var a = src.ToDictionary(p => p.name, p => p.t);
        var b = dst.ToDictionary(p => p.name, p => p.t);
        var missing = a.Keys.Except(b.Keys).ToList();
        var extra = b.Keys.Except(a.Keys).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new ArgumentException($"source and shadow differ: {what}s only in the source: [{string.Join(", ", missing)}], only in the shadow: [{string.Join(", ", extra)}]");
        return a.Select(kv =>
        {
            var s = b[kv.Key];
            if (!kv.Value.shape.SequenceEqual(s.shape))
                throw new ArgumentException($"{what} '{kv.Key}': source shape {Shapes.Of(kv.Value)}, shadow shape {Shapes.Of(s)}");
            return (kv.Value, s);
        }).ToArray();
    }

    /// <summary>
    /// One averaging step: <c>shadow ← β·shadow + (1 − β)·source</c>. β = 0 copies the source exactly, β = 1 leaves
    /// the shadow unchanged.
    /// </summary>
    public void Update(double beta)
    {
        if (beta is < 0 or > 1 || double.IsNaN(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be in [0, 1]");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (src, dst) in _params) Blend(dst, src, beta, average: true);
        foreach (var (src, dst, avg) in _buffers) Blend(dst, src, beta, avg);
    }

    static void Blend(Tensor dst, Tensor src, double beta, bool average)
    {
        if (!average || beta == 0 || !dst.is_floating_point()) { dst.copy_(src); return; }
        if (beta == 1) return;
        dst.mul_(beta).add_(src.detach(), alpha: 1 - beta);
    }

    /// <summary>Copies the source into the shadow (the start of training, or after loading a checkpoint without one).</summary>
    public void CopyFromSource() => Update(0);

    /// <summary>
    /// β for a half-life measured in images, as StyleGAN2 does: <c>β = 0.5^(batch / halfLifeImages)</c>, so the
    /// weight of a past step halves after <paramref name="halfLifeImages"/> images (StyleGAN2: 10,000).
    /// </summary>
    public static double BetaFromHalfLife(long batchSize, double halfLifeImages)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        if (!(halfLifeImages >= 0)) throw new ArgumentOutOfRangeException(nameof(halfLifeImages), halfLifeImages, "half-life must be non-negative");
        return halfLifeImages == 0 ? 0 : Math.Pow(0.5, batchSize / halfLifeImages);
    }

    /// <summary>
    /// StyleGAN2-ADA's ramp-up: early in training the half-life is at most <paramref name="rampUp"/> times the images
    /// seen so far (e.g. 0.05), so the average does not drag along the random initialisation.
    /// </summary>
    public static double BetaFromHalfLife(long batchSize, double halfLifeImages, long imagesSeen, double rampUp) =>
        BetaFromHalfLife(batchSize, Math.Min(halfLifeImages, Math.Max(0, imagesSeen) * rampUp));
}
