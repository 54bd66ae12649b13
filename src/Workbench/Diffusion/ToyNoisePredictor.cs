using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// A noise predictor ε_θ(x_t, t) for 2-D toy data (the U-Net's role on points): an MLP with SiLU activations on
/// [x_t, sinusoidal embedding of t] (<see cref="SinusoidalTimeEmbedding.Sinusoids"/>), the embedding also added to every
/// hidden layer through its own linear map (as the U-Net's residual blocks do), output [B, D].
/// </summary>
public sealed class ToyNoisePredictor : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear input;
    readonly ModuleList<Linear> hidden;
    readonly ModuleList<Linear> timeProj;
    readonly Linear output;
    readonly int _embed;

    public ToyNoisePredictor(int dim = 2, int width = 128, int layers = 3, int timeEmbedding = 32) : base(nameof(ToyNoisePredictor))
    {
        _embed = timeEmbedding;
        input = nn.Linear(dim + timeEmbedding, width);
        hidden = nn.ModuleList(Enumerable.Range(0, layers - 1).Select(_ => nn.Linear(width, width)).ToArray());
        timeProj = nn.ModuleList(Enumerable.Range(0, layers - 1).Select(_ => nn.Linear(timeEmbedding, width)).ToArray());
        output = nn.Linear(width, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor t)
    {
        using var scope = NewDisposeScope();
        var e = SinusoidalTimeEmbedding.Sinusoids(t, _embed).to(x.dtype);
        var h = nn.functional.silu(input.call(cat(new[] { x, e }, 1)));
        for (int i = 0; i < hidden.Count; i++) h = nn.functional.silu(hidden[i].call(h) + timeProj[i].call(e));
        return output.call(h).MoveToOuterDisposeScope();
    }
}
