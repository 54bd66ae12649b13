using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// DCGAN's generator (Radford et al. 2016, Section 3 and Fig. 1): z (with the class embedding, for a conditional G) is
/// projected to 4x4 maps by a transposed convolution, then fractionally-strided 4x4 convolutions double the side and
/// halve the maps up to the image, batch norm and ReLU after each but the last, tanh at the output; no pooling, no
/// fully connected hidden layers. A SAGAN <see cref="SelfAttention"/> block follows the block whose maps have side
/// <see cref="GanConfig.Attention"/>. Images are in [−1, 1], [N, ImageChannels, Resolution, Resolution].
/// </summary>
public sealed class DcganGenerator : GanGenerator
{
    readonly Sequential net;

    public DcganGenerator(GanConfig config) : base(nameof(DcganGenerator), config)
    {
        int k = config.Log2Resolution - 2;          // upsamplings from 4x4
        long channels = (long)config.Width << (k - 1);
        bool bn = config.GeneratorBatchNorm;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("project", nn.ConvTranspose2d(InputDim, channels, 4, stride: 1, padding: 0, bias: !bn)),
        };
        if (bn) layers.Add(("bn4", nn.BatchNorm2d(channels)));
        layers.Add(("relu4", nn.ReLU()));
        if (config.Attention == 4) layers.Add(("attention4", new SelfAttention(channels)));
        for (int side = 8; side < config.Resolution; side *= 2)
        {
            layers.Add(($"up{side}", nn.ConvTranspose2d(channels, channels / 2, 4, stride: 2, padding: 1, bias: !bn)));
            channels /= 2;
            if (bn) layers.Add(($"bn{side}", nn.BatchNorm2d(channels)));
            layers.Add(($"relu{side}", nn.ReLU()));
            if (config.Attention == side) layers.Add(($"attention{side}", new SelfAttention(channels)));
        }
        layers.Add(("to_image", nn.ConvTranspose2d(channels, config.ImageChannels, 4, stride: 2, padding: 1)));
        layers.Add(("tanh", nn.Tanh()));
        net = nn.Sequential(layers);
        RegisterComponents();
        DcganInit.Apply(this);
    }

    public override Tensor Generate(Tensor z, Tensor? labels = null)
    {
        var input = Input(z, labels);
        return net.call(input.reshape(input.shape[0], input.shape[1], 1, 1));
    }
}
