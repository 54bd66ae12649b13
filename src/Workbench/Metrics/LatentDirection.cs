using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// Attribute directions in a model's latent space for the expression edit (as in Glow, Kingma &amp;
/// Dhariwal 2018, §5 "Semantic manipulation": the average latent of images with an attribute minus the average latent
/// of images without it). <see cref="MeanDifference"/> takes latents of two labelled groups (e.g. Glow's exact
/// encodings of smiling and frowning real faces); <see cref="FromScores"/> takes latents with a score each (e.g.
/// StyleGAN2 W vectors of generated faces scored by <see cref="FactorRegressor"/>) and contrasts the top and bottom
/// fractions by score. Edits then move a latent z to z + s·d for strengths s; <see cref="AttributeEdit"/> measures them.
/// </summary>
public static class LatentDirection
{
    /// <summary>mean(positive) − mean(negative) over the first dimension, latents flattened per example: [D…] of the latents' shape.</summary>
    public static Tensor MeanDifference(Tensor positive, Tensor negative)
    {
        if (positive.shape[0] < 1 || negative.shape[0] < 1) throw new ArgumentException("LatentDirection: both groups need at least one latent");
        if (!positive.shape.Skip(1).SequenceEqual(negative.shape.Skip(1))) throw new ArgumentException("LatentDirection: the groups' latents differ in shape");
        using var scope = NewDisposeScope();
        return (positive.to(ScalarType.Float64).mean(new long[] { 0 }) - negative.to(ScalarType.Float64).mean(new long[] { 0 })).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean latent of the <paramref name="fraction"/> highest-scored minus that of the same number of lowest-scored
    /// latents ([N, …] latents, [N] scores).
    /// </summary>
    public static Tensor FromScores(Tensor latents, Tensor scores, double fraction = 0.25)
    {
        long n = latents.shape[0];
        if (scores.numel() != n) throw new ArgumentException($"LatentDirection: {scores.numel()} scores for {n} latents");
        if (fraction <= 0 || fraction > 0.5) throw new ArgumentOutOfRangeException(nameof(fraction), "LatentDirection: fraction must be in (0, 0.5]");
        long k = Math.Max(1, (long)Math.Floor(n * fraction));
        using var scope = NewDisposeScope();
        var order = scores.flatten().argsort(descending: true);
        return MeanDifference(latents.index_select(0, order[..(int)k]), latents.index_select(0, order[(int)(n - k)..])).MoveToOuterDisposeScope();
    }
}
