using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The 2-D toys' generator (WGAN-GP's toy code's shape): HiddenLayers fully connected ReLU layers of Hidden units and a
/// linear output of DataDim, from z (and the class embedding, with classes).
/// </summary>
public sealed class MlpGenerator : GanGenerator
{
    readonly Sequential net;

    public MlpGenerator(GanConfig config) : base(nameof(MlpGenerator), config)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long width = InputDim;
        for (int i = 0; i < config.HiddenLayers; i++)
        {
            layers.Add(($"fc{i}", nn.Linear(width, config.Hidden)));
            layers.Add(($"relu{i}", nn.ReLU()));
            width = config.Hidden;
        }
        layers.Add(("out", nn.Linear(width, config.DataDim)));
        net = nn.Sequential(layers);
        RegisterComponents();
    }

    public override Tensor Generate(Tensor z, Tensor? labels = null) => net.call(Input(z, labels));
}
