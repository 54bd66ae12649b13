using TorchSharp;
using Workbench.Flows;
using static TorchSharp.torch;

namespace Workbench.Tests.Flows;

/// <summary>Brute-force checks shared by the flow tests.</summary>
static class FlowTestUtil
{
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x) => FlowDiagnostics.Jacobian(f, x);

    public static double LogAbsDet(Tensor jacobian) => FlowDiagnostics.LogAbsDet(jacobian);

    public static void Perturb(nn.Module module, double scale = 0.2) => FlowDiagnostics.Perturb(module, scale);

    /// <summary>Checks a layer on a float64 batch: inverse(forward(x)) = x, and the per-example logdet against the
    /// log|det| of the brute-force Jacobian of each example. Returns (max reconstruction error, max logdet error).</summary>
    public static (double Recon, double LogDet) Check(FlowLayer layer, Tensor x)
    {
        var c = FlowDiagnostics.Check(layer, x);
        return (c.InverseError, c.LogDetError);
    }
}
