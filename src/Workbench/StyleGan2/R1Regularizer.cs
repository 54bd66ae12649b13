using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// R1 regularisation (Mescheder et al. 2018), applied lazily on real images (StyleGAN2 Section 3.1): the loss is
/// γ/2 · E‖∇_x D(x)‖², evaluated every <c>interval</c> D steps and multiplied by the interval so its overall
/// strength matches the every-step version.
/// </summary>
public static class R1Regularizer
{
    /// <summary>
    /// Per-example squared gradient norms ‖∇_x D(x)‖² [N], differentiable (create_graph) so the penalty can be
    /// minimised. Returns the logits too, for logging.
    /// </summary>
    public static (Tensor SquaredGradNorm, Tensor Logits) Penalty(nn.Module<Tensor, Tensor> discriminator, Tensor reals)
    {
        using var scope = NewDisposeScope();
        var x = reals.detach().requires_grad_(true);
        var logits = discriminator.call(x);
        var grad = torch.autograd.grad(new[] { logits.sum() }, new[] { x }, retain_graph: true, create_graph: true)[0];
        var sq = grad.square().flatten(1).sum(1);
        return (sq.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    /// <summary>γ/2 · mean(‖∇D‖²) · interval.</summary>
    public static Tensor Loss(Tensor squaredGradNorm, double gamma, int interval = 1)
    {
        using var scope = NewDisposeScope();
        return (squaredGradNorm.mean() * (gamma / 2 * Math.Max(interval, 1))).MoveToOuterDisposeScope();
    }
}
