using TorchSharp;
using Workbench.Flows;

namespace Workbench.Autoregressive;

/// <summary>Builds an autoregressive image model from its config record (<see cref="PixelCnnConfig"/>,
/// <see cref="GatedPixelCnnConfig"/>, <see cref="PixelCnnPlusPlusConfig"/>, <see cref="MafConfig"/>) and reads the record
/// back from a model.</summary>
public static class PixelModels
{
    /// <summary>The model a config describes (an <see cref="IPixelModel"/>), on the CPU in float32.</summary>
    public static torch.nn.Module Create(object config) => config switch
    {
        PixelCnnConfig c => new PixelCnn(c),
        GatedPixelCnnConfig c => new GatedPixelCnn(c),
        PixelCnnPlusPlusConfig c => new PixelCnnPlusPlus(c),
        MafConfig c => new MafImageFlow(c),
        _ => throw new ArgumentException($"not a pixel model config: {config?.GetType().Name ?? "null"}", nameof(config)),
    };

    /// <summary>The config record of a pixel model.</summary>
    public static object ConfigOf(torch.nn.Module model) => model switch
    {
        PixelCnn m => m.Config,
        GatedPixelCnn m => m.Config,
        PixelCnnPlusPlus m => m.Config,
        MafImageFlow m => m.Config,
        _ => throw new ArgumentException($"not a pixel model: {model?.GetType().Name ?? "null"}", nameof(model)),
    };
}
