using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>Turns uint8 image batches into model inputs, and back.</summary>
public static class Preprocess
{
    /// <summary>
    /// Glow's input convention (Kingma &amp; Dhariwal 2018, Section 5 and its code): reduce to <paramref name="bits"/>
    /// bits, scale to [-0.5, 0.5) in steps of 1/n_bins, and add uniform noise U(0, 1/n_bins) when
    /// <paramref name="dequantize"/>, so a continuous density's log-likelihood bounds the discrete one
    /// (log p(x) ≥ log p(x~) − D log n_bins).
    /// </summary>
    public static Tensor ToFlowInput(Tensor images, int bits = 8, bool dequantize = true)
    {
        if (bits is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be 1..8");
        using var scope = NewDisposeScope();
        double bins = 1 << bits;
        var x = images.to(ScalarType.Float32);
        if (bits < 8) x = floor(x / (1 << (8 - bits)));
        x = x / bins - 0.5;
        if (dequantize) x = x + rand_like(x) / bins;
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>[-1, 1] as GANs use: x / 127.5 − 1.</summary>
    public static Tensor ToSigned(Tensor images) => images.to(ScalarType.Float32) / 127.5 - 1;

    /// <summary>[0, 1]: x / 255.</summary>
    public static Tensor ToUnit(Tensor images) => images.to(ScalarType.Float32) / 255.0;

    /// <summary>Inverse of <see cref="ToFlowInput"/> (without noise): [-0.5, 0.5] floats to uint8, clamped.</summary>
    public static Tensor FromFlowOutput(Tensor x, int bits = 8)
    {
        double bins = 1 << bits;
        using var scope = NewDisposeScope();
        var q = floor((x + 0.5) * bins).clamp(0, bins - 1) * (1 << (8 - bits));
        return q.to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>Inverse of <see cref="ToSigned"/>: [-1, 1] floats to uint8, clamped.</summary>
    public static Tensor FromSigned(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ((x + 1) * 127.5).round().clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>Inverse of <see cref="ToUnit"/>: [0, 1] floats to uint8, clamped.</summary>
    public static Tensor FromUnit(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (x * 255).round().clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }
}
