using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Training;

/// <summary>What one optimizer step reports.</summary>
public readonly record struct StepResult(double Loss, double GradNorm);

/// <summary>
/// One optimizer step inside its own dispose scope, so a long loop does not grow in memory: zero the
/// gradients, compute the loss (in an inner scope that keeps only the loss: the loss function must not hand other
/// tensors it made to the caller), backpropagate, clip the global gradient norm (optional), step. A loss that
/// is NaN or infinite, or above <c>divergeAbove</c> when given (reported as <c>metric</c>), throws
/// <see cref="TrainingDivergedException"/> before the parameters change.
/// </summary>
public static class TrainStep
{
    public static StepResult Run(optim.Optimizer optimizer, IEnumerable<Parameter> parameters, Func<Tensor> loss,
        long step, double? maxGradNorm = null, double? divergeAbove = null, string metric = "loss")
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        // the forward pass in a scope of its own: when it returns, the handles of its intermediates are gone and
        // autograd alone owns what it saved, so backward frees each activation as it passes it and nothing unsaved
        // waits for the step's end (as in PyTorch, where an unreferenced tensor is freed at once)
        Tensor l;
        using (var forward = NewDisposeScope())
            l = loss().MoveToOuterDisposeScope();
        double value = l.item<float>();
        if (!double.IsFinite(value)) throw new TrainingDivergedException(step, metric, value);
        if (value > divergeAbove) throw new TrainingDivergedException(step, metric, value);
        l.backward();
        var ps = parameters as IList<Parameter> ?? parameters.ToList();
        double norm = maxGradNorm is double max
            ? nn.utils.clip_grad_norm_(ps, max)
            : GradNorm(ps);
        if (!double.IsFinite(norm)) throw new TrainingDivergedException(step, "gradient norm", norm);
        optimizer.step();
        return new StepResult(value, norm);
    }

    /// <summary>Global L2 norm of the gradients (parameters without a gradient are skipped).</summary>
    public static double GradNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        var norms = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!.detach().norm()).ToArray();
        return norms.Length == 0 ? 0 : stack(norms).norm().item<float>();
    }
}
