using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// Leaky ReLU (slope 0.2) followed by the gain sqrt(2) that restores unit second moment for He-initialised layers
/// (the "fused lrelu" of StyleGAN2's code; the equalized-lr weights carry no gain of their own).
/// </summary>
public static class ScaledLeakyRelu
{
    public const double Slope = 0.2;
    public static readonly double Gain = Math.Sqrt(2.0);

    public static Tensor Apply(Tensor x, double gain = double.NaN)
    {
        using var a = nn.functional.leaky_relu(x, Slope);
        return a * (double.IsNaN(gain) ? Gain : gain);
    }
}
