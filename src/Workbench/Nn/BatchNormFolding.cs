using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// Batch normalisation in evaluation mode (Ioffe &amp; Szegedy 2015, Algorithm 2, step 11: the inference network)
/// is the per-channel affine map y = s ⊙ x + t with s = γ / √(σ² + ε) and t = β − μ ⊙ s from the running
/// statistics, so a BN next to a convolution can be folded into that convolution's weights and bias: the same
/// outputs to float rounding, without the BN's pass over the activations. Used for sampling, where the convolutions
/// run in eval mode without gradients.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>(s, t) of a BN layer in eval mode, [C] each; null when it keeps no running statistics (eval mode then
    /// normalises by the batch's own, which no fixed affine map reproduces).</summary>
    public static (Tensor Scale, Tensor Shift)? Affine(BatchNorm2d bn)
    {
        if (bn.running_mean is not { } mean || bn.running_var is not { } variance) return null;
        var s = (variance + bn.eps).rsqrt();
        if (bn.weight is { } gamma) s = s * gamma;
        var t = -mean * s;
        if (bn.bias is { } beta) t = t + beta;
        return (s, t);
    }

    /// <summary>Weight and bias of conv followed by the affine map (s, t) on its output channels:
    /// W' = s[o] · W[o, …], b' = s ⊙ b + t.</summary>
    public static (Tensor Weight, Tensor Bias) After(Tensor weight, Tensor? bias, (Tensor Scale, Tensor Shift) bn)
    {
        var w = weight * bn.Scale.reshape(-1, 1, 1, 1);
        var b = bias is null ? bn.Shift : bn.Scale * bias + bn.Shift;
        return (w, b);
    }

    /// <summary>Weight and bias of the affine map (s, t) on the input channels followed by a 1×1 convolution (no
    /// padding, so every output sees mapped inputs only): W' = W[:, i] · s[i], b' = b + W · t.</summary>
    public static (Tensor Weight, Tensor Bias) Before1x1((Tensor Scale, Tensor Shift) bn, Tensor weight, Tensor? bias)
    {
        if (weight.shape[2] != 1 || weight.shape[3] != 1)
            throw new ArgumentException($"BatchNormFolding.Before1x1: a BN before a {weight.shape[2]}x{weight.shape[3]} convolution does not fold exactly (its zero padding is not mapped)");
        var w = weight * bn.Scale.reshape(1, -1, 1, 1);
        var b = weight.flatten(1).matmul(bn.Shift);
        return (w, bias is null ? b : b + bias);
    }
}
