using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Data;

/// <summary>One batch: uint8 images [B, C, H, W] on the loader's device, with labels and factors when the dataset has them.</summary>
public sealed record Batch(Tensor Images, Tensor? Labels, Tensor? Factors);

/// <summary>
/// Cuts shuffled batches from an <see cref="ImageDataset"/> and moves them to a device. The order is a function
/// of (seed, epoch) alone, and <see cref="Position"/> (batches served so far) can be saved and restored, so a
/// resumed run sees exactly the batches it would have seen. Call <see cref="Next"/> inside the training step's
/// dispose scope: the batch's tensors belong to that scope.
/// </summary>
public sealed class BatchLoader
{
    readonly ImageDataset _data;
    readonly long _seed;
    long[] _order = Array.Empty<long>();
    long _orderEpoch = -1;

    public BatchLoader(ImageDataset data, int batchSize, bool shuffle = true, long seed = 0, Device? device = null, bool dropLast = true)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (dropLast && data.Count < batchSize)
            throw new ArgumentException($"{data.Name} has {data.Count} examples, fewer than one batch of {batchSize}", nameof(batchSize));
        _data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        _seed = seed;
        Device = device ?? Devices.Default;
        DropLast = dropLast;
    }

    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public Device Device { get; }
    public ImageDataset Dataset => _data;

    /// <summary>Batches per epoch.</summary>
    public long BatchesPerEpoch => DropLast ? _data.Count / BatchSize : (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>Batches served so far (restore it to resume the same data order).</summary>
    public long Position { get; set; }

    public long Epoch => Position / BatchesPerEpoch;

    /// <summary>The next batch; epochs roll over forever.</summary>
    public Batch Next()
    {
        long epoch = Position / BatchesPerEpoch, index = Position % BatchesPerEpoch;
        if (epoch != _orderEpoch) { _order = Permutation(epoch); _orderEpoch = epoch; }
        long start = index * BatchSize, end = Math.Min(start + BatchSize, _data.Count);
        Position++;
        var idx = _order.AsSpan((int)start, (int)(end - start)).ToArray();
        using var ids = tensor(idx, ScalarType.Int64);
        return new Batch(
            _data.Images.index_select(0, ids).to(Device),
            _data.Labels?.index_select(0, ids).to(Device),
            _data.Factors?.index_select(0, ids).to(Device));
    }

    /// <summary>One pass over the data in order (no shuffling), e.g. for evaluating on a test set; reports to and stops
    /// with the thread's <see cref="EvaluationProgress"/> scope.</summary>
    public static IEnumerable<Batch> Sequential(ImageDataset data, int batchSize, Device? device = null, long? limit = null)
    {
        var d = device ?? Devices.Default;
        long n = Math.Min(limit ?? data.Count, data.Count);
        for (long s = 0; s < n; s += batchSize)
        {
            long e = Math.Min(s + batchSize, n);
            EvaluationProgress.ThrowIfCancelled();
            yield return new Batch(
                data.Images[(int)s..(int)e].to(d),
                data.Labels?[(int)s..(int)e].to(d),
                data.Factors?[(int)s..(int)e].to(d));
            EvaluationProgress.Report(e, n);
        }
    }

    long[] Permutation(long epoch)
    {
        var order = new long[_data.Count];
        for (long i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle)
        {
            // Fisher-Yates with a generator seeded by (seed, epoch): independent of libtorch's global state.
            // (HashCode.Combine is randomised per process, so mix the two by hand.)
            var rng = new Random(unchecked((int)(_seed * 1_000_003 + epoch * 7_919 + 17)));
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        return order;
    }
}
