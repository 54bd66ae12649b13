using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// Bernoulli likelihood for binarised images (NVAE's choice for dynamically binarised MNIST, Table 1): the decoder
/// outputs one logit per pixel; a pixel is "on" when its uint8 value is above <see cref="Threshold"/>
/// (pass images already sampled as 0/255 for dynamic binarisation).
/// </summary>
public sealed class BernoulliLikelihood : IImageLikelihood
{
    public int Threshold { get; }

    public BernoulliLikelihood(int threshold = 127) => Threshold = threshold;

    public int ParamChannels(int imageChannels) => imageChannels;

    public Tensor LogProb(Tensor parameters, Tensor images)
    {
        using var scope = NewDisposeScope();
        var target = (images > Threshold).to(parameters.dtype);
        var ll = -nn.functional.binary_cross_entropy_with_logits(parameters, target, reduction: nn.Reduction.None);
        return ll.sum(new long[] { 1, 2, 3 }).MoveToOuterDisposeScope();
    }

    public Tensor Sample(Tensor parameters)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return (bernoulli(sigmoid(parameters)) * 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    public Tensor Mean(Tensor parameters)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return (sigmoid(parameters) * 255).round().to(ScalarType.Byte).MoveToOuterDisposeScope();
    }
}
