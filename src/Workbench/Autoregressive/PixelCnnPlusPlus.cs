using TorchSharp;
using TorchSharp.Modules;
using Workbench.Nn;
using Workbench.Nvae;
using static TorchSharp.torch;

namespace Workbench.Autoregressive;

/// <summary>
/// PixelCNN++ (Salimans et al. 2017): a discretized logistic mixture likelihood with RGB channel coupling (Section 2.1-2.2,
/// <see cref="DiscretizedLogisticMixture"/>) conditioned on the whole pixels before each one, computed by two causal streams,
/// u (rows above, <see cref="ShiftKind.Down"/>) and ul (rows above and pixels to the left, <see cref="ShiftKind.DownRight"/>),
/// so there is no blind spot. The streams run a U-Net shape (Sections 2.3-2.4): <see cref="GatedResnet"/> blocks at each
/// resolution, stride-2 causal down-sampling, transposed up-sampling, and short-cut connections from every up-pass block to its
/// down-pass partner; dropout in every block (Section 2.6). The input carries an extra channel of ones, so the network tells
/// zero padding from black pixels, as in the released code.
/// </summary>
public sealed class PixelCnnPlusPlus : nn.Module<Tensor, Tensor>, IPixelModel
{
    readonly ShiftedConv2d uInit;
    readonly ShiftedConv2d ulInitAbove;
    readonly ShiftedConv2d ulInitLeft;
    readonly ModuleList<GatedResnet> upU;
    readonly ModuleList<GatedResnet> upUl;
    readonly ModuleList<ShiftedConv2d> downsampleU;
    readonly ModuleList<ShiftedConv2d> downsampleUl;
    readonly ModuleList<GatedResnet> downU;
    readonly ModuleList<GatedResnet> downUl;
    readonly ModuleList<ShiftedConvTranspose2d> upsampleU;
    readonly ModuleList<ShiftedConvTranspose2d> upsampleUl;
    readonly Conv2d output;
    readonly DiscretizedLogisticMixture likelihood;

    public PixelCnnPlusPlus(PixelCnnPlusPlusConfig config) : base(nameof(PixelCnnPlusPlus))
    {
        if (config.Scales < 1) throw new ArgumentException($"PixelCnnPlusPlusConfig.Scales must be at least 1, got {config.Scales}", nameof(config));
        Config = config;
        likelihood = new DiscretizedLogisticMixture(config.Mixtures);
        long f = config.Features, c = config.ImageChannels + 1;
        int s = config.Scales, n = config.ResnetsPerScale;
        // u sees the rows above; ul the rows above plus the pixels to the left of the current one (Figure 2's input layer)
        uInit = new ShiftedConv2d(c, f, 2, 3, ShiftKind.Down, shift: OutputShift.Down);
        ulInitAbove = new ShiftedConv2d(c, f, 1, 3, ShiftKind.Down, shift: OutputShift.Down);
        ulInitLeft = new ShiftedConv2d(c, f, 2, 1, ShiftKind.DownRight, shift: OutputShift.Right);
        upU = new ModuleList<GatedResnet>(Enumerable.Range(0, s * n).Select(_ => new GatedResnet(f, ShiftKind.Down, 0, config.Dropout)).ToArray());
        upUl = new ModuleList<GatedResnet>(Enumerable.Range(0, s * n).Select(_ => new GatedResnet(f, ShiftKind.DownRight, f, config.Dropout)).ToArray());
        downsampleU = new ModuleList<ShiftedConv2d>(Enumerable.Range(0, s - 1).Select(_ => new ShiftedConv2d(f, f, 2, 3, ShiftKind.Down, stride: 2)).ToArray());
        downsampleUl = new ModuleList<ShiftedConv2d>(Enumerable.Range(0, s - 1).Select(_ => new ShiftedConv2d(f, f, 2, 2, ShiftKind.DownRight, stride: 2)).ToArray());
        // down pass: n + 1 blocks per scale except the lowest (n): one per up-pass output, the initial and the down-sampled ones included
        int down = s * (n + 1) - 1;
        downU = new ModuleList<GatedResnet>(Enumerable.Range(0, down).Select(_ => new GatedResnet(f, ShiftKind.Down, f, config.Dropout)).ToArray());
        downUl = new ModuleList<GatedResnet>(Enumerable.Range(0, down).Select(_ => new GatedResnet(f, ShiftKind.DownRight, 2 * f, config.Dropout)).ToArray());
        upsampleU = new ModuleList<ShiftedConvTranspose2d>(Enumerable.Range(0, s - 1).Select(_ => new ShiftedConvTranspose2d(f, f, ShiftKind.Down)).ToArray());
        upsampleUl = new ModuleList<ShiftedConvTranspose2d>(Enumerable.Range(0, s - 1).Select(_ => new ShiftedConvTranspose2d(f, f, ShiftKind.DownRight)).ToArray());
        output = nn.Conv2d(f, likelihood.ParamChannels(config.ImageChannels), 1);
        RegisterComponents();
    }

    public PixelCnnPlusPlusConfig Config { get; }

    /// <summary>The mixture likelihood the network parameterises.</summary>
    public DiscretizedLogisticMixture Likelihood => likelihood;

    /// <summary>Mixture parameters [B, K(1 + 2C (+3 for RGB)), H, W] for the scaled image x [B, C, H, W] (values in
    /// [−1, 1]); those of pixel i depend only on the pixels before i.</summary>
    public override Tensor forward(Tensor x)
    {
        Shapes.Expect(x, "PixelCnnPlusPlus: images", "B", Config.ImageChannels, "H", "W");
        long unit = 1L << (Config.Scales - 1);
        if (x.shape[2] % unit != 0 || x.shape[3] % unit != 0)
            throw new ArgumentException($"PixelCnnPlusPlus: image sides must be multiples of {unit} for {Config.Scales} scales, got {Shapes.Of(x)}", nameof(x));
        using var scope = NewDisposeScope();
        x = cat(new[] { x, ones_like(x.narrow(1, 0, 1)) }, 1);
        int n = Config.ResnetsPerScale;
        var us = new Stack<Tensor>();
        var uls = new Stack<Tensor>();
        us.Push(uInit.call(x));
        uls.Push(ulInitAbove.call(x) + ulInitLeft.call(x));
        for (int scale = 0, k = 0; scale < Config.Scales; scale++)
        {
            for (int r = 0; r < n; r++, k++)
            {
                var u = upU[k].call(us.Peek(), null);
                var ul = upUl[k].call(uls.Peek(), u);
                us.Push(u);
                uls.Push(ul);
            }
            if (scale < Config.Scales - 1)
            {
                us.Push(downsampleU[scale].call(us.Peek()));
                uls.Push(downsampleUl[scale].call(uls.Peek()));
            }
        }
        Tensor uDown = us.Pop(), ulDown = uls.Pop();
        for (int scale = 0, k = 0; scale < Config.Scales; scale++)
        {
            int blocks = scale == 0 ? n : n + 1;
            for (int r = 0; r < blocks; r++, k++)
            {
                uDown = downU[k].call(uDown, us.Pop());
                ulDown = downUl[k].call(ulDown, cat(new[] { uDown, uls.Pop() }, 1));
            }
            if (scale < Config.Scales - 1)
            {
                uDown = upsampleU[scale].call(uDown);
                ulDown = upsampleUl[scale].call(ulDown);
            }
        }
        return output.call(nn.functional.elu(ulDown, 1.0, false)).MoveToOuterDisposeScope();
    }

    /// <summary>Exact log p(x) in nats per image [B] of uint8 images [B, C, H, W].</summary>
    public Tensor LogProb(Tensor images) =>
        PixelLikelihood.LogProb(this, x => call(x), likelihood, images, Config.ImageChannels, "PixelCnnPlusPlus");

    /// <summary>Bits per sub-pixel [B]: −log2 p(x) / (C·H·W).</summary>
    public Tensor BitsPerDim(Tensor images) => PixelLikelihood.BitsPerDim(LogProb(images), images);

    /// <summary>
    /// n uint8 images [n, C, S, S] in eval mode, pixel by pixel in raster order (the mixture draws a pixel's channels
    /// together, R then G then B through its coupling); one network pass per pixel, each in its own dispose scope, no cache.
    /// </summary>
    public Tensor Sample(int n, Action<Tensor, long>? onPixel = null)
    {
        var p = parameters().First();
        return AutoregressiveSampler.Sample(this, new long[] { n, Config.ImageChannels, Config.ImageSize, Config.ImageSize }, p.device,
            (x, i, j) => x.select(2, i).select(2, j).copy_(likelihood.Sample(call(PixelCategorical.Scale(x).to(p.dtype))).select(2, i).select(2, j)),
            onPixel);
    }

    int IPixelModel.ImageChannels => Config.ImageChannels;
    int IPixelModel.ImageSize => Config.ImageSize;
    int IPixelModel.Classes => 0;
    Tensor IPixelModel.LogProb(Tensor images, Tensor? labels) => LogProb(images);
    Tensor IPixelModel.Sample(int n, double temperature, Tensor? labels, Action<Tensor, long>? onPixel) => temperature == 1.0 ? Sample(n, onPixel)
        : throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "PixelCNN++ samples at temperature 1 only (its mixture has no temperature)");
}
