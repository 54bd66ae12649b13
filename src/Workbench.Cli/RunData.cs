using Workbench.Data;

namespace Workbench.Cli;

/// <summary>
/// What <c>--data</c> names: a registered dataset (<see cref="Datasets.Names"/>) or a folder of images, loaded with
/// <see cref="ImageFolder"/> at <c>--image-size</c> (default <see cref="DefaultImageSize"/>) with its fixed hash split.
/// </summary>
public static class RunData
{
    public const int DefaultImageSize = 32;

    /// <summary>True when <paramref name="data"/> is an image folder rather than a dataset name.</summary>
    public static bool IsFolder(string data) =>
        !Datasets.Names.Contains(data, StringComparer.OrdinalIgnoreCase) && Directory.Exists(data);

    /// <summary>The train or test split; <paramref name="imageSize"/> is the side for image folders (null: the default).</summary>
    public static ImageDataset Load(string data, int? imageSize, bool train)
    {
        if (IsFolder(data)) return ImageFolder.Load(data, imageSize ?? DefaultImageSize, train);
        if (imageSize is not null)
            throw new UsageException($"--image-size applies to image folders; '{data}' is a named dataset with its own size.");
        if (!Datasets.Names.Contains(data, StringComparer.OrdinalIgnoreCase))
            throw new UsageException(
                $"--data '{data}': neither a dataset ({string.Join(", ", Datasets.Names.Order())}) nor an existing folder of images.");
        return Datasets.Load(data, train);
    }
}
