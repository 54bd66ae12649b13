using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>The learned constant 4x4 input of the synthesis network (StyleGAN Section 2; StyleGAN2 Fig. 2).</summary>
public sealed class ConstantInput : nn.Module<long, Tensor>
{
    private readonly Parameter constant;

    public ConstantInput(long channels, int size = 4) : base(nameof(ConstantInput))
    {
        Channels = channels;
        Size = size;
        constant = nn.Parameter(randn(channels, size, size));
        RegisterComponents();
    }

    public long Channels { get; }
    public int Size { get; }

    /// <summary>The constant repeated over a batch: [batch, C, 4, 4].</summary>
    public override Tensor forward(long batch) => constant[TensorIndex.None].expand(batch, -1, -1, -1);
}
