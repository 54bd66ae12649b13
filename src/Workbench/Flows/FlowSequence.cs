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

    /// <remarks>
    /// Each layer runs in its own dispose scope that keeps only its output and the running log-determinant: the
    /// layer's intermediates lose their managed handles as soon as it returns, so the tensors autograd saved are
    /// owned by the graph alone and backward frees each layer's memory as it passes it (instead of all of them
    /// staying alive until the training step's scope ends).
    /// </remarks>
    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        var logdet = zeros(x.shape[0], dtype: x.dtype, device: x.device);
        foreach (var layer in layers)
        {
            using var scope = NewDisposeScope();
            var (y, ld) = layer.Forward(x);
            logdet = (logdet + ld).MoveToOuterDisposeScope();
            x = KeepOutside(y, x);
        }
        return (x, logdet);
    }

    public override Tensor Inverse(Tensor y)
    {
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            using var scope = NewDisposeScope();
            y = KeepOutside(layers[i].Inverse(y), y);
        }
        return y;
    }

    /// <summary>Moves a layer's result out of the layer's scope, unless it is the layer's input (already outside).</summary>
    static Tensor KeepOutside(Tensor result, Tensor input) =>
        ReferenceEquals(result, input) ? result : result.MoveToOuterDisposeScope();
}
