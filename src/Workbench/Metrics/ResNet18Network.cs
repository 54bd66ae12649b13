using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// The network of <see cref="ResNet18Features"/> (the package's preprocessing graph, then ResNet-18 to its pooled
/// 512-d output) as a TorchSharp module built from the same two ONNX files by <see cref="OnnxGraph"/>: the same
/// features, with gradients, for a perceptual distance that can be optimised (StyleGAN2's projection, §5). Frozen:
/// its weights are buffers.
/// <para>
/// Input: float images [N, C, H, W] on the [0, 255] scale, C = 1 (replicated) or 3, resized bilinearly to 224×224
/// and mean-image subtracted as in <see cref="ResNet18Features"/>. With a smaller <c>inputSide</c> the
/// preprocessed image is then downsampled to that side before the residual stages (and the final pool averages
/// whatever map remains; a multiple of 32, so that every stage halves an even side): cheaper, no longer the
/// metric's features.
/// </para>
/// </summary>
public sealed class ResNet18Network : nn.Module<Tensor, Tensor>
{
    private readonly OnnxGraph prep, net;

    public ResNet18Network(string? modelFolder = null, int inputSide = ResNet18Features.InputSize) : base(nameof(ResNet18Network))
    {
        // the graph pads its strided convolutions asymmetrically (as for 224 = 7·32): an odd map size on the way down
        // would give the two branches of a residual block different sizes
        if (inputSide < 32 || inputSide % 32 != 0) throw new ArgumentException($"ResNet18Network: inputSide = {inputSide}: must be a multiple of 32 (32, 64, …, 224)");
        var folder = modelFolder ?? ResNet18Features.DefaultModelFolder;
        string prepPath = Path.Combine(folder, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        string netPath = Path.Combine(folder, "ResNet18Onnx", "ResNet18.onnx");
        foreach (var f in new[] { prepPath, netPath })
            if (!File.Exists(f)) throw new FileNotFoundException($"ResNet18Network: {f} is missing (see ResNet18Features).", f);
        InputSide = inputSide;
        prep = new OnnxGraph(prepPath);
        net = new OnnxGraph(netPath, globalPooling: true);
        RegisterComponents();
        eval();
    }

    /// <summary>The side the residual stages see (224: the metric's features).</summary>
    public int InputSide { get; }

    /// <summary>Features [N, 512] of float images [N, 1 or 3, H, W] on the [0, 255] scale.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = ResNet18Features.ToNetworkInput(images);
        x = prep.call(x);
        if (InputSide != ResNet18Features.InputSize)
            x = nn.functional.interpolate(x, new long[] { InputSide, InputSide }, mode: InterpolationMode.Bilinear, align_corners: false);
        return net.call(x).flatten(1).MoveToOuterDisposeScope();
    }
}
