using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>What <see cref="FlowDiagnostics.Check"/> measured on one layer.</summary>
public sealed record FlowCheck(string Layer, double InverseError, double LogDetError, double LogDet)
{
    public override string ToString() =>
        $"{Layer}: max |inverse(forward(x)) - x| = {InverseError:E1}, max |logdet - log|det J|| = {LogDetError:E1} (logdet {LogDet:F4})";
}

/// <summary>
/// Brute-force checks of a flow's two defining properties (Glow, Eq. 1-3): the inverse is exact, and the
/// log-determinant the layer reports equals log|det| of its full Jacobian, built row by row with autograd.
/// Use tiny float64 inputs (the Jacobian of a D-dimensional example costs D backward passes).
/// </summary>
public static class FlowDiagnostics
{
    /// <summary>The full Jacobian d f(x)/dx [D_out, D_in] of one example x [1, ...].</summary>
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x)
    {
        using var scope = NewDisposeScope();
        var xi = x.detach().clone().requires_grad_(true);
        var y = f(xi).flatten();
        var rows = new List<Tensor>();
        for (long i = 0; i < y.shape[0]; i++)
        {
            var g = autograd.grad(new List<Tensor> { y[i] }, new List<Tensor> { xi }, retain_graph: true, allow_unused: true)[0];
            rows.Add(g is null ? zeros(xi.numel(), dtype: xi.dtype) : g.flatten().detach());
        }
        return stack(rows).MoveToOuterDisposeScope();
    }

    /// <summary>log|det J| of a square Jacobian.</summary>
    public static double LogAbsDet(Tensor jacobian)
    {
        using var scope = NewDisposeScope();
        return linalg.slogdet(jacobian.to(ScalarType.Float64)).Item2.item<double>();
    }

    /// <summary>Checks a layer on a batch x: the inverse error over the batch and, per example, the reported
    /// log-determinant against the brute-force one.</summary>
    public static FlowCheck Check(FlowLayer layer, Tensor x, string? name = null)
    {
        using var scope = NewDisposeScope();
        var (y, logdet) = layer.Forward(x);
        double recon = (layer.Inverse(y) - x).abs().max().to(ScalarType.Float64).item<double>();
        double worst = 0;
        var ld = logdet.to(ScalarType.Float64);
        for (long b = 0; b < x.shape[0]; b++)
        {
            var jac = Jacobian(v => layer.Forward(v).Y, x[b].unsqueeze(0));
            worst = Math.Max(worst, Math.Abs(LogAbsDet(jac) - ld[b].item<double>()));
        }
        return new FlowCheck(name ?? layer.GetName(), recon, worst, ld[0].item<double>());
    }

    /// <summary>Moves every parameter off its initialisation (zero-initialised layers are trivial to check otherwise).</summary>
    public static void Perturb(nn.Module module, double scale = 0.2)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var p in module.parameters()) p.add_(randn_like(p) * scale);
    }
}
