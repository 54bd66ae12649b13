using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// WGAN-GP's gradient penalty (Gulrajani et al. 2017, Eq. 3 and Algorithm 1): at x̂ = εx + (1 − ε)x̃ with ε ~ U[0, 1]
/// per example on the segment between a real x and a fake x̃, λ·E(‖∇_x̂ D(x̂)‖₂ − 1)². The input gradient is taken
/// with create_graph, so the penalty is differentiable in D's parameters (a double backward) and minimising it moves
/// them. A conditional critic is evaluated at the pair's label (reals and fakes share labels).
/// </summary>
public static class GradientPenalty
{
    /// <summary>The penalty (a scalar, λ included) and the per-example norms ‖∇D(x̂)‖ [N].</summary>
    /// <param name="d">the critic.</param>
    /// <param name="reals">real examples [N, …].</param>
    /// <param name="fakes">generated examples, the reals' shape.</param>
    /// <param name="lambda">λ (WGAN-GP: 10).</param>
    /// <param name="labels">the pairs' labels [N] for a conditional critic (null: unconditional).</param>
    /// <param name="epsilon">the interpolation weights [N] (null: drawn from libtorch's generator).</param>
    public static (Tensor Penalty, Tensor Norms) Compute(GanDiscriminator d, Tensor reals, Tensor fakes, double lambda,
        Tensor? labels = null, Tensor? epsilon = null)
    {
        if (!reals.shape.SequenceEqual(fakes.shape))
            throw new ArgumentException($"GradientPenalty: reals {Nn.Shapes.Of(reals)} and fakes {Nn.Shapes.Of(fakes)} differ in shape");
        using var scope = NewDisposeScope();
        long n = reals.shape[0];
        var eps = (epsilon ?? rand(n, device: reals.device)).to(reals.dtype)
            .reshape(new[] { n }.Concat(Enumerable.Repeat(1L, (int)reals.dim() - 1)).ToArray());
        var xhat = (eps * reals.detach() + (1 - eps) * fakes.detach()).requires_grad_(true);
        var scores = d.Score(xhat, labels);
        var grad = torch.autograd.grad(new[] { scores.sum() }, new[] { xhat }, retain_graph: true, create_graph: true)[0];
        var norms = (grad.flatten(1).square().sum(new long[] { 1 }) + 1e-12).sqrt();
        var penalty = (norms - 1).square().mean() * lambda;
        return (penalty.MoveToOuterDisposeScope(), norms.MoveToOuterDisposeScope());
    }
}
