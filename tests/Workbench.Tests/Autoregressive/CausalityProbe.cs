using TorchSharp;
using Workbench.Autoregressive;
using static TorchSharp.torch;

namespace Workbench.Tests.Autoregressive;

/// <summary>
/// Which input sub-pixels each output sub-pixel's logits depend on, measured by autograd: for output pixel p and channel
/// group g, the gradient of a random projection of its 256 logits (summed over a batch of random images, so a dead ReLU
/// on one image does not hide a dependency) with respect to the input. Masked taps contribute exact zeros.
/// </summary>
static class CausalityProbe
{
    /// <summary>dependsOn[p, g, q, c]: output pixel p (raster index), group g has a non-zero gradient w.r.t. input pixel q, channel c.</summary>
    public static bool[,,,] Measure(Func<Tensor, Tensor> logitsOf, long channels, long size, int batch = 4)
    {
        using var scope = NewDisposeScope();
        long n = size * size;
        var result = new bool[n, channels, n, channels];
        var x = (rand(batch, channels, size, size, dtype: float64) * 2 - 1).requires_grad_(true);
        var logits = logitsOf(x);
        for (long p = 0; p < n; p++)
            for (long g = 0; g < channels; g++)
            {
                using var step = NewDisposeScope();
                var l = logits.narrow(1, g * PixelCategorical.Levels, PixelCategorical.Levels).select(2, p / size).select(2, p % size);
                var scalar = (l * randn_like(l)).sum();
                var grad = autograd.grad(new List<Tensor> { scalar }, new List<Tensor> { x }, retain_graph: true)[0];
                var nz = (grad.abs().sum(new long[] { 0 }) > 0).reshape(channels, n); // [C, H·W]
                var flags = nz.data<bool>().ToArray();
                for (long c = 0; c < channels; c++)
                    for (long q = 0; q < n; q++)
                        result[p, g, q, c] = flags[c * n + q];
            }
        return result;
    }

    /// <summary>The first violation of the autoregressive order (a dependence on a later pixel, or on a channel group ≥ g
    /// of the same pixel), or null.</summary>
    public static string? Violation(bool[,,,] d)
    {
        long n = d.GetLength(0), channels = d.GetLength(1);
        for (long p = 0; p < n; p++)
            for (long g = 0; g < channels; g++)
                for (long q = p; q < n; q++)
                    for (long c = 0; c < channels; c++)
                        if (d[p, g, q, c] && (q > p || c >= g))
                            return $"output pixel {p} group {g} depends on input pixel {q} channel {c}";
        return null;
    }

    /// <summary>Whether output (p, g) depends on some channel of pixel q.</summary>
    public static bool Any(bool[,,,] d, long p, long g, long q)
    {
        for (long c = 0; c < d.GetLength(3); c++) if (d[p, g, q, c]) return true;
        return false;
    }

    /// <summary>Whole-pixel dependencies for networks whose outputs are not split by channel (PixelCNN++'s mixture
    /// parameters): dependsOn[p, q] when some output channel at pixel p has a non-zero gradient w.r.t. some channel of input pixel q.</summary>
    public static bool[,] MeasurePixels(Func<Tensor, Tensor> outputOf, long channels, long size, int batch = 4)
    {
        using var scope = NewDisposeScope();
        long n = size * size;
        var result = new bool[n, n];
        var x = (rand(batch, channels, size, size, dtype: float64) * 2 - 1).requires_grad_(true);
        var y = outputOf(x);
        for (long p = 0; p < n; p++)
        {
            using var step = NewDisposeScope();
            var o = y.select(2, p / size).select(2, p % size);
            var grad = autograd.grad(new List<Tensor> { (o * randn_like(o)).sum() }, new List<Tensor> { x }, retain_graph: true)[0];
            var flags = (grad.abs().sum(new long[] { 0, 1 }) > 0).reshape(n).data<bool>().ToArray();
            for (long q = 0; q < n; q++) result[p, q] = flags[q];
        }
        return result;
    }
}
