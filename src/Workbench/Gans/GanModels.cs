namespace Workbench.Gans;

/// <summary>The generator and discriminator a <see cref="GanConfig"/> describes, built from libtorch's global generator.</summary>
public static class GanModels
{
    public static (GanGenerator G, GanDiscriminator D) Create(GanConfig config)
    {
        config.Validate();
        return config.Architecture switch
        {
            GanArchitecture.Mlp => (new MlpGenerator(config), new MlpDiscriminator(config)),
            GanArchitecture.Dcgan => (new DcganGenerator(config), new DcganDiscriminator(config)),
            _ => throw new ArgumentOutOfRangeException(nameof(config), config.Architecture, "unknown GAN architecture"),
        };
    }
}
