using TorchSharp;
using Workbench.Flows;
using static TorchSharp.torch;

namespace Workbench.Tests.Flows;

/// <summary>Brute-force checks shared by the flow tests.</summary>
static class FlowTestUtil
{
    /// <summary>The full Jacobian d f(x)/dx of one example x [1, ...] (float64), built row by row with autograd.</summary>
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x)
    {
        var xi = x.detach().clone().requires_grad_(true);
        var y = f(xi).flatten();
        long d = y.shape[0];
        var rows = new List<Tensor>();
        for (long i = 0; i < d; i++)
        {
            var g = torch.autograd.grad(new List<Tensor> { y[i] }, new List<Tensor> { xi }, retain_graph: true, allow_unused: true)[0];
            rows.Add(g is null ? zeros(xi.numel(), dtype: xi.dtype) : g.flatten().detach());
        }
        return stack(rows);
    }

    /// <summary>log|det J| of a square Jacobian.</summary>
    public static double LogAbsDet(Tensor jacobian) => linalg.slogdet(jacobian).Item2.item<double>();

    /// <summary>Moves every parameter off its (zero) initialisation so the check cannot pass trivially.</summary>
    public static void Perturb(nn.Module module, double scale = 0.2)
    {
        using var _ = no_grad();
        foreach (var p in module.parameters()) p.add_(randn_like(p) * scale);
    }

    /// <summary>Checks a layer on a float64 batch: inverse(forward(x)) = x, and the per-example logdet against the
    /// log|det| of the brute-force Jacobian of each example. Returns (max reconstruction error, max logdet error).</summary>
    public static (double Recon, double LogDet) Check(FlowLayer layer, Tensor x)
    {
        var (y, logdet) = layer.Forward(x);
        var back = layer.Inverse(y);
        double recon = (back - x).abs().max().item<double>();
        double worst = 0;
        for (long b = 0; b < x.shape[0]; b++)
        {
            var jac = Jacobian(v => layer.Forward(v).Y, x[b].unsqueeze(0));
            worst = Math.Max(worst, Math.Abs(LogAbsDet(jac) - logdet[b].item<double>()));
        }
        return (recon, worst);
    }
}
