using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// One step of flow (Glow, Section 3, Figure 2a): ActNorm, then a channel permutation or invertible 1x1
/// convolution, then a coupling layer. Works on images (convolutional coupling) and on vectors (MLP coupling).
/// </summary>
public sealed class FlowStep : FlowSequence
{
    public FlowStep(long channels, GlowConfig config, int index = 0, bool vectors = false)
        : base(Build(channels, config, index, vectors), nameof(FlowStep)) { }

    static IEnumerable<FlowLayer> Build(long channels, GlowConfig config, int index, bool vectors)
    {
        if (config.ActNorm) yield return new ActNorm(channels, config.ActNormLogScaleFactor);
        yield return config.Permutation switch
        {
            Permutation.Reverse => ChannelPermutation.Reverse(channels),
            Permutation.Shuffle => ChannelPermutation.Shuffle(channels, config.Seed * 7919 + index),
            Permutation.Conv1x1 => new InvertibleConv1x1(channels),
            Permutation.Conv1x1LU => new InvertibleConv1x1LU(channels),
            _ => throw new ArgumentOutOfRangeException(nameof(config), config.Permutation, "unknown permutation"),
        };
        yield return (config.Coupling, vectors) switch
        {
            (Coupling.Additive, false) => AdditiveCoupling.ForImages(channels, config.HiddenChannels, config.Padding),
            (Coupling.Affine, false) => AffineCoupling.ForImages(channels, config.HiddenChannels, config.Padding),
            (Coupling.Additive, true) => AdditiveCoupling.ForVectors(channels, config.HiddenChannels),
            (Coupling.Affine, true) => AffineCoupling.ForVectors(channels, config.HiddenChannels),
            _ => throw new ArgumentOutOfRangeException(nameof(config), config.Coupling, "unknown coupling"),
        };
    }
}
