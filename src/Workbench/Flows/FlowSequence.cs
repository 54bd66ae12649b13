using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// A composition of flow layers (Glow, Eq. 1-3): forward applies them in order and sums their log-determinants;
/// inverse applies their inverses in reverse order.
/// </summary>
public class FlowSequence : FlowLayer
{
    readonly ModuleList<FlowLayer> layers;

    public FlowSequence(IEnumerable<FlowLayer> layers, string name = nameof(FlowSequence)) : base(name)
    {
        this.layers = new ModuleList<FlowLayer>(layers.ToArray());
        RegisterComponents();
    }

    public IReadOnlyList<FlowLayer> Layers => layers.ToList();

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        var logdet = zeros(x.shape[0], dtype: x.dtype, device: x.device);
        foreach (var layer in layers)
        {
            var (y, ld) = layer.Forward(x);
            x = y;
            logdet = logdet + ld;
        }
        return (x, logdet);
    }

    public override Tensor Inverse(Tensor y)
    {
        for (int i = layers.Count - 1; i >= 0; i--) y = layers[i].Inverse(y);
        return y;
    }
}
