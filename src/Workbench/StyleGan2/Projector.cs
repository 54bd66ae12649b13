using TorchSharp;
using Workbench.Metrics;
using Workbench.Training;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.StyleGan2;

/// <summary>
/// Projection of images into the generator's W (StyleGAN2 §5, "Projection of images to latent space"; appendix D):
/// for each target image, one w (shared by every layer) and the per-layer noise maps are optimised with Adam so that
/// the generated image reproduces the target, starting from w_avg with unit Gaussian noise maps. Noise is added to w
/// early on (ramped to zero), the learning rate is warmed up and ramped down, the noise maps are pulled towards
/// white noise by the multi-scale autocorrelation penalty (each map and its 2×-downsampled pyramid down to 8×8,
/// squared mean products with the map shifted by one pixel along each axis) and renormalised to zero mean and unit
/// variance after each step.
/// <para>
/// The paper's distance is LPIPS, whose VGG-16 weights are not available here: the distance is the squared distance
/// between unit-normalised ResNet-18 features (<see cref="ResNet18Network"/>) plus
/// <see cref="ProjectionConfig.PixelWeight"/> times the per-pixel mean squared error. The paper observes that
/// generated images project back almost exactly and real ones do not, so the final distance tells them apart.
/// </para>
/// </summary>
public static class Projector
{
    /// <summary>What a projection found for each target: w [N, WDim], the images it gives [N, C, R, R] in [−1, 1], the
    /// final perceptual distance and pixel error per image, and the loss after each step.</summary>
    public sealed record Result(Tensor W, Tensor Images, double[] Distance, double[] PixelMse, double[] LossPerStep);

    /// <summary>The squared distance between the unit-normalised features of two batches [N, F] per row.</summary>
    public static Tensor FeatureDistance(Tensor a, Tensor b) =>
        (a / a.norm(1, keepdim: true) - b / b.norm(1, keepdim: true)).square().sum(1);

    /// <summary>
    /// The noise regulariser for maps [N, 1, H, W] per image [N]: Σ over the pyramid (halved by 2×2 averages down to
    /// 8×8) of mean(n · roll(n, 1, x))² + mean(n · roll(n, 1, y))².
    /// </summary>
    public static Tensor NoiseRegularization(Tensor noise)
    {
        using var scope = NewDisposeScope();
        var v = noise;
        Tensor? reg = null;
        while (true)
        {
            var rx = (v * v.roll(1, 3)).mean(new long[] { 1, 2, 3 }).square();
            var ry = (v * v.roll(1, 2)).mean(new long[] { 1, 2, 3 }).square();
            reg = reg is null ? rx + ry : reg + rx + ry;
            if (v.shape[2] <= 8) break;
            v = nn.functional.avg_pool2d(v, 2);
        }
        return reg.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Projects <paramref name="targets"/> [N, C, R, R] in [−1, 1] into <paramref name="g"/> (left in eval mode and
    /// unchanged). Reports (step, steps) to <see cref="EvaluationProgress"/> and stops when its scope is cancelled.
    /// </summary>
    public static Result Project(StyleGan2Generator g, ResNet18Network features, Tensor targets, ProjectionConfig config, long seed = 0)
    {
        Shapes.Expect(targets, "Projector: targets", "N", g.Config.ImageChannels, g.Config.Resolution, g.Config.Resolution);
        if (config.Steps < 1) throw new ArgumentException($"Projector: Steps = {config.Steps}: must be at least 1");
        var device = g.WAvg.device;
        long n = targets.shape[0];
        var layers = g.Synthesis.Layers.Select(l => l.Noise).ToList();
        bool wasTraining = g.training;
        g.eval();
        var frozen = g.parameters().Select(p => (p, p.requires_grad)).ToList();
        foreach (var (p, _) in frozen) p.requires_grad_(false);
        using var generator = new torch.Generator((ulong)seed);
        Tensor wAvg, wStd;
        using (no_grad())
        {
            var z = randn(new long[] { config.WAvgSamples, g.Config.ZDim }, generator: generator).to(device);
            var w = g.Mapping.call(z);
            wAvg = w.mean(new long[] { 0 }, keepdim: true);
            wStd = ((w - wAvg).square().sum() / config.WAvgSamples).sqrt();   // σ_w = √E‖w − w_avg‖²
            w.Dispose(); z.Dispose();
        }
        var wOpt = nn.Parameter(wAvg.repeat(n, 1));
        var noise = layers.Select(l => nn.Parameter(randn(new long[] { n, 1, l.Resolution, l.Resolution }, generator: generator).to(device))).ToList();
        var losses = new double[config.Steps];
        Tensor target = targets.to(device), targetFeatures;
        using (no_grad()) targetFeatures = features.call((target + 1) * 127.5);
        var optimizer = optim.Adam(noise.Prepend(wOpt).ToList(), lr: config.InitialLearningRate, beta1: 0.9, beta2: 0.999);
        // the generated images for w [N, WDim] with the optimised noise maps, their feature distance and pixel error to the targets
        (Tensor Images, Tensor Distance, Tensor Pixel) Reproduce(Tensor w)
        {
            var images = g.Synthesize(w[.., TensorIndex.None].expand(-1, g.NumWs, -1), NoiseMode.Given);
            return (images, FeatureDistance(features.call((images + 1) * 127.5), targetFeatures), (images - target).square().mean(new long[] { 1, 2, 3 }));
        }
        try
        {
            for (int i = 0; i < layers.Count; i++) layers[i].Given = noise[i];
            for (int step = 0; step < config.Steps; step++)
            {
                EvaluationProgress.ThrowIfCancelled();
                using var scope = NewDisposeScope();
                double t = (double)step / config.Steps;
                foreach (var group in optimizer.ParamGroups) group.LearningRate = config.LearningRate(t);
                var wNoise = randn(wOpt.shape, generator: generator).to(device) * (wStd * config.WNoiseFactor(t));
                var (_, distance, pixel) = Reproduce(wOpt + wNoise);
                var reg = noise.Select(NoiseRegularization).Aggregate((a, b) => a + b);
                var loss = (distance + config.PixelWeight * pixel + config.RegularizeNoiseWeight * reg).sum();
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                losses[step] = loss.item<float>() / n;
                using (no_grad())
                    foreach (var m in noise)
                    {
                        m.sub_(m.mean(new long[] { 1, 2, 3 }, keepdim: true));
                        m.mul_(m.square().mean(new long[] { 1, 2, 3 }, keepdim: true).rsqrt());
                    }
                EvaluationProgress.Report(step + 1, config.Steps);
            }
            using (no_grad())
            {
                var (images, distance, pixel) = Reproduce(wOpt);
                return new Result(wOpt.detach().cpu(), images.cpu(), distance.to(ScalarType.Float64).cpu().data<double>().ToArray(),
                    pixel.to(ScalarType.Float64).cpu().data<double>().ToArray(), losses);
            }
        }
        finally
        {
            foreach (var l in layers) l.Given = null;
            foreach (var (p, grad) in frozen) p.requires_grad_(grad);
            if (wasTraining) g.train();
            optimizer.Dispose();
            foreach (var m in noise) m.Dispose();
            wOpt.Dispose(); wAvg.Dispose(); wStd.Dispose(); targetFeatures.Dispose();
            if (!ReferenceEquals(target, targets)) target.Dispose();
        }
    }
}
