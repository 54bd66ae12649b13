using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// Path length regularisation (StyleGAN2 Section 3.2, Eq. 4): E_{w,y} (‖J_wᵀ y‖₂ − a)², with y ~ N(0, I) images
/// scaled by 1/sqrt(H·W) so the length does not depend on the resolution, J_wᵀ y obtained by one backward pass
/// (autograd of ⟨g(w), y⟩ w.r.t. w), and a the running mean of the lengths (decay 0.01), updated before the penalty
/// is taken against it; as in the official code (loss.py's <c>pl_mean.lerp</c>) the updated a still depends on this
/// batch's lengths, so the gradient flows through it too. It pushes the generator
/// towards a Jacobian that is orthogonal up to a global scale: a fixed step in W changes the image by a fixed
/// amount in every direction. Applied lazily: weight (2) × interval, every interval G steps.
/// </summary>
public sealed class PathLengthRegularizer
{
    /// <param name="weight">the penalty's weight (the paper's 2).</param>
    /// <param name="decay">the running mean's decay (0.01).</param>
    /// <param name="detachMean">true: the penalty's target a is a constant (no gradient through this batch's mean length).</param>
    public PathLengthRegularizer(double weight = 2.0, double decay = 0.01, bool detachMean = false)
    {
        Weight = weight;
        Decay = decay;
        DetachMean = detachMean;
    }

    public double Weight { get; }
    public double Decay { get; }
    public bool DetachMean { get; }

    /// <summary>The running mean a of the path lengths (0 until the first update).</summary>
    public double Mean { get; set; }

    /// <summary>
    /// ‖J_wᵀ y‖ per example [N], differentiable, for images = g(ws) and ws [N, numWs, wDim] a graph input.
    /// The squared norm is summed over wDim and averaged over the numWs layers, then square-rooted (the official
    /// code's convention, so the per-layer ws count as one w).
    /// </summary>
    public static Tensor PathLengths(Tensor images, Tensor ws, Tensor y)
    {
        using var scope = NewDisposeScope();
        var grad = torch.autograd.grad(new[] { (images * y).sum() }, new[] { ws }, retain_graph: true, create_graph: true)[0];
        var lengths = grad.dim() == 3 ? grad.square().sum(2).mean(new long[] { 1 }).sqrt() : grad.square().sum(1).sqrt();
        return lengths.MoveToOuterDisposeScope();
    }

    /// <summary>y ~ N(0, I) / sqrt(H·W), shaped like the images.</summary>
    public static Tensor RandomDirections(Tensor images)
    {
        long h = images.shape[^2], w = images.shape[^1];
        using var r = randn_like(images);
        return r / Math.Sqrt(h * w);
    }

    /// <summary>(‖J_wᵀ y‖ − a)² per example for a given target a.</summary>
    public static Tensor Penalty(Tensor lengths, double a)
    {
        using var d = lengths - a;
        return d.square();
    }

    /// <summary>
    /// One lazy regularisation evaluation: computes the lengths l with fresh y, updates a ← a + decay·(mean(l) − a), and
    /// returns weight · interval · mean((l − a)²) with the mean length and the penalty for logging. The new a keeps its
    /// dependence on mean(l) in the penalty's graph unless <see cref="DetachMean"/>. Any floating dtype.
    /// </summary>
    public (Tensor Loss, double MeanLength, double PenaltyValue) Compute(Tensor images, Tensor ws, int interval = 1)
    {
        using var scope = NewDisposeScope();
        var y = RandomDirections(images);
        var lengths = PathLengths(images, ws, y);
        var batchMean = lengths.mean();
        var target = Mean + Decay * ((DetachMean ? batchMean.detach() : batchMean) - Mean);
        double meanLength = batchMean.detach().ToDouble();
        Mean = target.detach().ToDouble();
        var penalty = (lengths - target).square().mean();
        double pv = penalty.detach().ToDouble();
        var loss = penalty * (Weight * Math.Max(interval, 1));
        return (loss.MoveToOuterDisposeScope(), meanLength, pv);
    }
}
