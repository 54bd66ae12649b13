using Workbench.Metrics;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>Where a path is interpolated: in Z by spherical interpolation (StyleGAN Eq. 2), in W linearly (Eq. 3).</summary>
public enum PathSpace { Z, W }

/// <summary>Where on the path t lies: uniformly in [0, 1] ("full"), or at the path's start t = 0 ("end").</summary>
public enum PathSampling { Full, End }

/// <summary>
/// Perceptual path length (StyleGAN, Karras et al. 2019, §3): the expected perceptual distance between the images at
/// t and t + ε on the path between two latents, divided by ε²,
/// <c>l_Z = E[d(G(slerp(z₁, z₂; t)), G(slerp(z₁, z₂; t + ε))) / ε²]</c> (Eq. 2) and
/// <c>l_W = E[d(g(lerp(f(z₁), f(z₂); t)), g(lerp(f(z₁), f(z₂); t + ε))) / ε²]</c> (Eq. 3), with ε = 1e-4; the
/// pair shares its noise inputs, the 1% tails of the distances are left out of the mean, and on faces the images may
/// be cropped to the face as the paper crops FFHQ. StyleGAN2 (§3) relates a low PPL to image quality and
/// regularises towards it.
/// <para>
/// The paper's d is LPIPS on VGG-16 features, whose weights are not available here: d is the squared distance between
/// the unit-normalised pooled ResNet-18 features (<see cref="ResNet18Features"/>) of the two images, on the
/// [0, 255] scale and never rounded (the images differ by about ε). The numbers are this project's, comparable between
/// its generators, not with the papers' PPL.
/// </para>
/// </summary>
public static class PerceptualPathLength
{
    /// <summary>The paper's step along the path.</summary>
    public const double DefaultEpsilon = 1e-4;

    /// <summary>The measured length: the mean of the kept distances, their standard deviation and counts.</summary>
    public sealed record Result(double Mean, double Std, int Pairs, int Kept);

    /// <summary>
    /// Spherical interpolation between the directions of <paramref name="a"/> and <paramref name="b"/> [N, D] at
    /// <paramref name="t"/> [N, 1]: a unit vector at angle t·θ from â towards b̂ on their great circle (θ = ∠(a, b)).
    /// </summary>
    public static Tensor Slerp(Tensor a, Tensor b, Tensor t)
    {
        using var scope = NewDisposeScope();
        var an = a / a.norm(1, keepdim: true);
        var bn = b / b.norm(1, keepdim: true);
        var cos = (an * bn).sum(1, keepdim: true).clamp(-1, 1);
        var angle = t * cos.acos();
        var orthogonal = bn - cos * an;
        orthogonal = orthogonal / orthogonal.norm(1, keepdim: true);
        var d = an * angle.cos() + orthogonal * angle.sin();
        return (d / d.norm(1, keepdim: true)).MoveToOuterDisposeScope();
    }

    /// <summary>Linear interpolation a + t·(b − a).</summary>
    public static Tensor Lerp(Tensor a, Tensor b, Tensor t) => a + t * (b - a);

    /// <summary>
    /// d(x(t), x(t + ε)) / ε² per pair [N]: <paramref name="imagesAt"/> maps latents [N, D] to images,
    /// <paramref name="features"/> maps images to unit-normalised features [N, F] (d is their squared distance).
    /// </summary>
    public static Tensor ScaledDistances(Func<Tensor, Tensor> imagesAt, Func<Tensor, Tensor> features, Tensor a, Tensor b, Tensor t,
        PathSpace space, double epsilon = DefaultEpsilon)
    {
        using var scope = NewDisposeScope();
        Func<Tensor, Tensor, Tensor, Tensor> along = space == PathSpace.Z ? Slerp : Lerp;
        var x0 = imagesAt(along(a, b, t));
        var x1 = imagesAt(along(a, b, t + epsilon));
        var f0 = features(x0);
        var f1 = features(x1);
        return ((f0 - f1).square().sum(1) / (epsilon * epsilon)).MoveToOuterDisposeScope();
    }

    /// <summary>The mean of <paramref name="distances"/> between their 1st and 99th percentiles (inclusive), as the reference metric filters outliers.</summary>
    public static Result Summarise(double[] distances)
    {
        if (distances.Length == 0) throw new ArgumentException("PerceptualPathLength: no distances");
        var sorted = distances.OrderBy(d => d).ToArray();
        // the lower percentile rounded down, the upper rounded up (numpy's 'lower' and 'higher' interpolation)
        double lo = sorted[(int)Math.Floor(0.01 * (sorted.Length - 1))], hi = sorted[(int)Math.Ceiling(0.99 * (sorted.Length - 1))];
        var kept = distances.Where(d => d >= lo && d <= hi).ToArray();
        double mean = kept.Average();
        double std = kept.Length > 1 ? Math.Sqrt(kept.Sum(d => (d - mean) * (d - mean)) / (kept.Length - 1)) : 0;
        return new Result(mean, std, distances.Length, kept.Length);
    }

    /// <summary>The central crop the reference metric applies to faces: rows 3/8…7/8 and columns 2/8…6/8 of the image.</summary>
    public static Tensor FaceCrop(Tensor images)
    {
        long c = images.shape[2] / 8;
        return images[.., .., (int)(c * 3)..(int)(c * 7), (int)(c * 2)..(int)(c * 6)];
    }

    /// <summary>
    /// The perceptual path length of generator <paramref name="g"/> (its constant noise for both images of a pair,
    /// no truncation) over <paramref name="pairs"/> random paths drawn from <paramref name="seed"/>; reports (pairs done,
    /// pairs) to <see cref="EvaluationProgress"/> and stops when its scope is cancelled.
    /// </summary>
    public static Result Measure(StyleGan2Generator g, ResNet18Features resnet, int pairs, PathSpace space, PathSampling sampling,
        bool crop = false, double epsilon = DefaultEpsilon, long seed = 0, int batchSize = 32)
    {
        if (pairs < 2) throw new ArgumentException($"PerceptualPathLength: pairs = {pairs}: need at least 2");
        if (!(epsilon > 0)) throw new ArgumentException($"PerceptualPathLength: epsilon = {epsilon}: must be > 0");
        var distances = new List<double>(pairs);
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        bool wasTraining = g.training;
        g.eval();
        try
        {
            using var _ = no_grad();
            var device = g.WAvg.device;
            for (int done = 0; done < pairs; done += batchSize)
            {
                EvaluationProgress.ThrowIfCancelled();
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, pairs - done);
                var z = randn(new long[] { 2 * n, g.Config.ZDim }, generator: generator).to(device);
                var t = (rand(new long[] { n, 1 }, generator: generator) * (sampling == PathSampling.Full ? 1.0 : 0.0)).to(device);
                Tensor a, b;
                Func<Tensor, Tensor> toWs;
                if (space == PathSpace.Z) { a = z[..n]; b = z[n..]; toWs = zs => g.MapToW(zs); }
                else
                {
                    var w = g.MapToW(z)[.., 0];
                    a = w[..n]; b = w[n..];
                    toWs = ws => ws[.., TensorIndex.None].expand(-1, g.NumWs, -1);
                }
                Tensor ImagesAt(Tensor latents)
                {
                    var images = g.Synthesize(toWs(latents), NoiseMode.Const);
                    return crop ? FaceCrop(images) : images;
                }
                Tensor Features(Tensor images)
                {
                    var f = resnet.Extract(((images.cpu().to(ScalarType.Float32) + 1) * 127.5).contiguous(), batchSize: n).to(ScalarType.Float64);
                    return f / f.norm(1, keepdim: true);
                }
                var d = ScaledDistances(ImagesAt, Features, a, b, t, space, epsilon);
                distances.AddRange(d.data<double>().ToArray());
                EvaluationProgress.Report(done + n, pairs);
            }
        }
        finally { if (wasTraining) g.train(); }
        return Summarise(distances.ToArray());
    }
}
