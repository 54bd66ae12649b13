using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The 2-D toys' discriminator: HiddenLayers fully connected ReLU layers of Hidden units (φ) and a linear score (ψ),
/// every weight spectrally normalised when the config asks; with classes, a one-hot label concatenated to the input
/// or the projection term on φ.
/// </summary>
public sealed class MlpDiscriminator : GanDiscriminator
{
    readonly Sequential features;
    readonly SnLinear score;

    public MlpDiscriminator(GanConfig config) : base(nameof(MlpDiscriminator), config, config.Hidden)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long width = config.DataDim + OneHotDim;
        for (int i = 0; i < config.HiddenLayers; i++)
        {
            layers.Add(($"fc{i}", new SnLinear(width, config.Hidden, config.SpectralNorm)));
            layers.Add(($"relu{i}", nn.ReLU()));
            width = config.Hidden;
        }
        features = nn.Sequential(layers);
        score = new SnLinear(width, 1, config.SpectralNorm);
        RegisterComponents();
    }

    public override Tensor Score(Tensor x, Tensor? labels = null)
    {
        Nn.Shapes.Expect(x, $"{GetName()}: x", "N", Config.DataDim);
        CheckLabels(labels, x.shape[0]);
        var input = OneHotDim > 0 ? cat(new[] { x, OneHot(labels!, x) }, 1) : x;
        var phi = features.call(input);
        return WithProjection(score.call(phi).squeeze(1), phi, labels);
    }
}
