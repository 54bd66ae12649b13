using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// One style block of the revised generator (StyleGAN2 Fig. 2c/d): modulated (and demodulated) 3x3 convolution,
/// then, outside the style block, noise, bias and leaky ReLU (gain √2).
/// </summary>
public sealed class SynthesisLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModulatedConv2d conv;
    private readonly NoiseInjection noise;
    private readonly Parameter bias;

    public SynthesisLayer(long inChannels, long outChannels, int wDim, int resolution, bool up = false, bool demodulate = true,
        int kernelSize = 3, bool fused = true)
        : base(nameof(SynthesisLayer))
    {
        conv = new ModulatedConv2d(inChannels, outChannels, kernelSize, wDim, demodulate, up: up ? 2 : 1, fused: fused);
        noise = new NoiseInjection(resolution);
        bias = nn.Parameter(zeros(outChannels));
        RegisterComponents();
    }

    public ModulatedConv2d Conv => conv;
    public NoiseInjection Noise => noise;

    public override Tensor forward(Tensor x, Tensor w) => Forward(x, w, NoiseMode.Random);

    public Tensor Forward(Tensor x, Tensor w, NoiseMode mode)
    {
        using var scope = NewDisposeScope();
        var y = conv.call(x, w);
        y = noise.Inject(y, mode);
        y = ScaledLeakyRelu.Apply(y + bias[TensorIndex.None, .., TensorIndex.None, TensorIndex.None]);
        return y.MoveToOuterDisposeScope();
    }
}
