using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Data;

/// <summary>
/// An image dataset held in memory on the CPU: <see cref="Images"/> is uint8 [N, C, H, W]; <see cref="Labels"/>
/// (int64 [N]) and <see cref="Factors"/> (float32 [N, F], named by <see cref="FactorNames"/>) are optional.
/// Batches are cut from it by <see cref="BatchLoader"/> and preprocessed by <see cref="Preprocess"/>.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    public string Name { get; }
    public Tensor Images { get; }
    public Tensor? Labels { get; }
    public Tensor? Factors { get; }
    public IReadOnlyList<string> FactorNames { get; }
    public IReadOnlyList<string>? ClassNames { get; init; }

    public ImageDataset(string name, Tensor images, Tensor? labels = null, Tensor? factors = null,
        IReadOnlyList<string>? factorNames = null)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new ArgumentException($"{name}: images must be uint8 [N, C, H, W], got {images.dtype} {Shapes.Of(images)}");
        long n = images.shape[0];
        if (labels is not null && labels.shape[0] != n)
            throw new ArgumentException($"{name}: {labels.shape[0]} labels for {n} images");
        if (factors is not null && (factors.dim() != 2 || factors.shape[0] != n))
            throw new ArgumentException($"{name}: factors must be [N={n}, F], got {Shapes.Of(factors)}");
        if (factors is not null && (factorNames is null || factorNames.Count != factors.shape[1]))
            throw new ArgumentException($"{name}: factors need one name per column ({factors.shape[1]})");
        Name = name;
        Images = images.cpu().contiguous();
        Labels = labels?.to(ScalarType.Int64).cpu();
        Factors = factors?.to(ScalarType.Float32).cpu();
        FactorNames = factorNames ?? Array.Empty<string>();
    }

    public long Count => Images.shape[0];
    public long Channels => Images.shape[1];
    public long Height => Images.shape[2];
    public long Width => Images.shape[3];

    /// <summary>Values per example (C*H*W), the D of bits/dim.</summary>
    public long Dimensions => Channels * Height * Width;

    /// <summary>The first <paramref name="n"/> examples (or all, if fewer), sharing no storage with this one.</summary>
    public ImageDataset Take(long n)
    {
        n = Math.Min(n, Count);
        return new ImageDataset(Name, Images[..(int)n].clone(), Labels?[..(int)n].clone(), Factors?[..(int)n].clone(),
            Factors is null ? null : FactorNames) { ClassNames = ClassNames };
    }

    /// <summary><paramref name="n"/> examples (or all, if fewer) drawn at random without replacement by a permutation
    /// from <paramref name="seed"/>, in the permutation's order, sharing no storage with this one.</summary>
    public ImageDataset Sample(long n, long seed)
    {
        n = Math.Min(n, Count);
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        using var index = randperm(Count, generator: generator)[..(int)n];
        return new ImageDataset(Name, Images.index_select(0, index), Labels?.index_select(0, index), Factors?.index_select(0, index),
            Factors is null ? null : FactorNames) { ClassNames = ClassNames };
    }

    public override string ToString() =>
        $"{Name}: {Count} images {Channels}x{Height}x{Width}" +
        (Labels is null ? "" : ", labelled") + (Factors is null ? "" : $", factors [{string.Join(", ", FactorNames)}]");

    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
        Factors?.Dispose();
    }
}
