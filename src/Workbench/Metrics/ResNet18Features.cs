using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Tensor = TorchSharp.torch.Tensor;
using OnnxDense = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Metrics;

/// <summary>
/// Pooled 512-d features of an ImageNet-trained ResNet-18 (He et al. 2016, "Deep Residual Learning for Image
/// Recognition", Table 1, 18-layer column: the output of the global average pool before the 1000-way classifier),
/// as shipped in the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 and run by ONNX Runtime on the CPU.
/// This is the feature space of "FD on ResNet-18 features" (<see cref="FrechetDistance"/>) and of KID, precision/recall
/// and density/coverage here. Inception-v3 weights are not available, so these numbers are not FID and are never
/// called so.
/// <para>
/// Input: uint8 images [N, C, H, W] with C = 1 (grayscale, replicated to three channels) or C = 3 (RGB). Each batch is
/// converted to float in [0, 255], resized bilinearly to 224×224 (what the network expects), and passed through the
/// package's own preprocessing model (ResNetPreprocess.onnx, what ML.NET's DnnImageFeaturizer runs before the network:
/// it splits the RGB input into its channels, concatenates them in BGR order and subtracts a 3×224×224 mean *image*
/// stored in the graph, not three channel means; the image's values lie in 95.3…129.5, its channel averages are
/// 103.06 (B), 115.90 (G), 123.15 (R) on the [0, 255] scale), then through
/// ResNet18.onnx. Both ONNX graphs have a fixed batch dimension of 1, so inside a batch the images run one at a time;
/// batching bounds memory and sets how often <c>progress</c> is called.
/// </para>
/// <para>
/// The ONNX files are copied next to Workbench.dll at build time (see Workbench.csproj), so they are found on a fresh
/// clone after <c>dotnet build</c> without any home-folder path.
/// </para>
/// </summary>
public sealed class ResNet18Features : IDisposable
{
    /// <summary>The metric's name wherever it is reported.</summary>
    public const string FdName = "FD on ResNet-18 features";

    /// <summary>Feature dimension (the pooled output of the last residual stage).</summary>
    public const int FeatureCount = 512;

    /// <summary>Image side the network takes.</summary>
    public const int InputSize = 224;

    const string PrepInput = "OriginalInput", NetInput = "Input247";

    readonly InferenceSession prep, net;

    /// <summary>Opens the two ONNX models.</summary>
    /// <param name="modelFolder">the DnnImageModels folder (default <see cref="DefaultModelFolder"/>).</param>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 lets it choose (all cores).</param>
    public ResNet18Features(string? modelFolder = null, int threads = 0)
    {
        var folder = modelFolder ?? DefaultModelFolder;
        string prepPath = Path.Combine(folder, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        string netPath = Path.Combine(folder, "ResNet18Onnx", "ResNet18.onnx");
        foreach (var f in new[] { prepPath, netPath })
            if (!File.Exists(f))
                throw new FileNotFoundException(
                    $"ResNet18Features: {f} is missing. It comes from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 " +
                    "and is copied beside Workbench.dll by `dotnet build`.", f);
        using var options = new SessionOptions { IntraOpNumThreads = threads };
        prep = new InferenceSession(prepPath, options);
        net = new InferenceSession(netPath, options);
    }

    /// <summary>The DnnImageModels folder beside Workbench.dll.</summary>
    public static string DefaultModelFolder =>
        Path.Combine(Path.GetDirectoryName(typeof(ResNet18Features).Assembly.Location) ?? AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>Images per second of the last <see cref="Extract"/> call (resize, preprocessing and network).</summary>
    public double LastImagesPerSecond { get; private set; }

    /// <summary>
    /// The network input for images [N, C, H, W] on the [0, 255] scale (uint8, or float and then differentiable, as
    /// <see cref="ResNet18Network"/> uses it): float32 [N, 3, 224, 224] clamped to [0, 255], grayscale replicated to
    /// three channels, resized bilinearly (before the package's mean subtraction).
    /// </summary>
    public static Tensor ToNetworkInput(Tensor imagesUint8)
    {
        if (imagesUint8.dim() != 4 || (imagesUint8.shape[1] != 1 && imagesUint8.shape[1] != 3))
            throw new ArgumentException($"ResNet18Features: expected images [N, 1 or 3, H, W], got {Shapes.Of(imagesUint8)}");
        using var scope = NewDisposeScope();
        var x = imagesUint8.to(ScalarType.Float32);
        if (x.shape[1] == 1) x = x.expand(-1, 3, -1, -1);
        if (x.shape[2] != InputSize || x.shape[3] != InputSize)
            x = nn.functional.interpolate(x, new long[] { InputSize, InputSize }, mode: InterpolationMode.Bilinear, align_corners: false);
        return x.clamp(0, 255).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Features [N, 512] (float32, CPU) of uint8 images [N, C, H, W], <paramref name="batchSize"/> images resized at a
    /// time; <paramref name="progress"/> gets (images done, total) after each batch.
    /// </summary>
    public Tensor Extract(Tensor imagesUint8, int batchSize = 32, Action<long, long>? progress = null)
    {
        long n = imagesUint8.shape[0];
        var result = new float[n * FeatureCount];
        var clock = Stopwatch.StartNew();
        int[] dims = { 1, 3, InputSize, InputSize };
        int per = 3 * InputSize * InputSize;
        for (long s = 0; s < n; s += batchSize)
        {
            long e = Math.Min(n, s + batchSize);
            float[] pixels;
            using (var scope = NewDisposeScope())
                pixels = ToNetworkInput(imagesUint8[(int)s..(int)e].cpu()).data<float>().ToArray();
            for (long i = s; i < e; i++)
            {
                var one = new OnnxDense(new Memory<float>(pixels, (int)(i - s) * per, per), dims);
                using var prepped = prep.Run(new[] { NamedOnnxValue.CreateFromTensor(PrepInput, one) });
                var mid = prepped[0].AsTensor<float>();
                using var pooled = net.Run(new[] { NamedOnnxValue.CreateFromTensor(NetInput, mid) });
                var feat = pooled[0].AsEnumerable<float>().ToArray();
                if (feat.Length != FeatureCount) throw new InvalidOperationException($"ResNet18Features: the network gave {feat.Length} values, expected {FeatureCount}");
                Array.Copy(feat, 0, result, i * FeatureCount, FeatureCount);
            }
            progress?.Invoke(e, n);
        }
        LastImagesPerSecond = n / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        return tensor(result, new long[] { n, FeatureCount });
    }

    public void Dispose()
    {
        prep.Dispose();
        net.Dispose();
    }
}
