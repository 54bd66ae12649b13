using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// Lazy regularisation (StyleGAN2 Section 3.1): a regulariser evaluated every k minibatches adds k extra optimizer
/// steps per k main steps, so the official setup scales Adam's hyper-parameters by c = k / (k + 1): lr·c and
/// (β1^c, β2^c), keeping the effective step size and averaging horizon per minibatch unchanged.
/// </summary>
public static class LazyRegularization
{
    /// <summary>c = k / (k + 1), or 1 when the regulariser is off (k = 0).</summary>
    public static double Ratio(int interval) => interval > 0 ? interval / (interval + 1.0) : 1.0;

    /// <summary>(lr·c, β1^c, β2^c).</summary>
    public static (double Lr, double Beta1, double Beta2) Corrected(double lr, double beta1, double beta2, int interval)
    {
        double c = Ratio(interval);
        return (lr * c, Math.Pow(beta1, c), Math.Pow(beta2, c));
    }

    /// <summary>An Adam optimizer with the corrected hyper-parameters.</summary>
    public static Adam Adam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, int interval, double eps = 1e-8)
    {
        var (l, b1, b2) = Corrected(lr, beta1, beta2, interval);
        return optim.Adam(parameters, l, b1, b2, eps);
    }
}
