using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Data;

/// <summary>The named datasets: <c>Datasets.Load("fashion-mnist", train: true)</c>.</summary>
public static class Datasets
{
    public static readonly string[] FashionMnistClasses =
        { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

    const string FashionMnistHowTo =
        "Install Debian's package (apt-get install dataset-fashion-mnist) or put the four idx files from " +
        "https://github.com/zalandoresearch/fashion-mnist in data/fashion-mnist/.";

    static readonly Dictionary<string, Func<bool, ImageDataset>> Loaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fashion-mnist"] = train => LoadIdxPair("fashion-mnist", train, FashionMnistHowTo, FashionMnistClasses),
        ["mnist"] = train => LoadIdxPair("mnist", train,
            "Put the four idx files (train-images-idx3-ubyte, …) in data/mnist/.", null),
        ["cifar-10"] = train => Workbench.Data.Cifar10.Load(train),
        ["fashion-mnist-32"] = train => PadTo32(LoadIdxPair("fashion-mnist", train, FashionMnistHowTo, FashionMnistClasses)),
    };

    /// <summary>Fashion-MNIST zero-padded by 2 pixels on each side to 32×32 (for models whose resolution is a power of
    /// two, StyleGAN2's); the 28×28 image is its centre, <see cref="FashionMnist32Crop"/> takes it back.</summary>
    static ImageDataset PadTo32(ImageDataset fashion)
    {
        using (fashion)
            return new ImageDataset(fashion.Name.Replace("fashion-mnist", "fashion-mnist-32"),
                nn.functional.pad(fashion.Images, new long[] { 2, 2, 2, 2 }), fashion.Labels?.clone()) { ClassNames = fashion.ClassNames };
    }

    /// <summary>The centre 28×28 of 32×32 images [N, C, 32, 32]: Fashion-MNIST's frame of <c>fashion-mnist-32</c>.</summary>
    public static Tensor FashionMnist32Crop(Tensor images) =>
        images.shape[^1] == 32 && images.shape[^2] == 32
            ? images[.., .., 2..30, 2..30]
            : throw new ArgumentException($"FashionMnist32Crop: expected [N, C, 32, 32] images, got {Shapes.Of(images)}");

    static Datasets() => ProceduralFaces.RegisterDatasets();

    /// <summary>The names <see cref="Load"/> understands.</summary>
    public static IReadOnlyCollection<string> Names => Loaders.Keys;

    /// <summary>Registers a dataset under <paramref name="name"/> (used for the procedural and file-based sets).</summary>
    public static void Register(string name, Func<bool, ImageDataset> load) => Loaders[name] = load;

    /// <summary>Loads the train or test split of a named dataset.</summary>
    public static ImageDataset Load(string name, bool train = true)
    {
        if (!Loaders.TryGetValue(name, out var load))
            throw new ArgumentException($"Unknown dataset '{name}'. Known: {string.Join(", ", Loaders.Keys.Order())}.", nameof(name));
        return load(train);
    }

    /// <summary>Fashion-MNIST (Xiao et al. 2017): 60k train / 10k test 28x28 grey images of 10 clothing classes.</summary>
    public static ImageDataset FashionMnist(bool train = true) => Load("fashion-mnist", train);

    /// <summary>CIFAR-10 (Krizhevsky 2009): 50k train / 10k test 32x32 RGB images of 10 classes.</summary>
    public static ImageDataset Cifar10(bool train = true) => Load("cifar-10", train);

    /// <summary>An IDX image/label pair in the MNIST layout.</summary>
    public static ImageDataset LoadIdxPair(string name, bool train, string howToGet, IReadOnlyList<string>? classes)
    {
        string prefix = train ? "train" : "t10k";
        string imagesFile = $"{prefix}-images-idx3-ubyte", labelsFile = $"{prefix}-labels-idx1-ubyte";
        var dir = DatasetResolver.Locate(name, new[] { imagesFile, labelsFile }, howToGet);
        var images = Idx.ReadBytes(DatasetResolver.FindFile(dir, imagesFile)!);
        var labels = Idx.ReadBytes(DatasetResolver.FindFile(dir, labelsFile)!);
        if (images.dim() != 3)
            throw new InvalidDataException($"{DatasetResolver.FindFile(dir, imagesFile)}: expected [N, H, W] images, got {images.dim()} dims");
        using (images)
        using (labels)
            return new ImageDataset($"{name}/{(train ? "train" : "test")}", images.unsqueeze(1), labels.to(ScalarType.Int64))
            { ClassNames = classes };
    }
}
