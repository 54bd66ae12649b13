using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// Minibatch standard deviation (ProGAN Section 3; StyleGAN2 keeps it in the discriminator's last block): split the
/// batch into groups of <see cref="GroupSize"/>, take the standard deviation of each feature over a group, average
/// it over channels (within each of <see cref="Features"/> channel slices) and pixels, and append the result as
/// extra constant feature maps, so the discriminator can see a lack of variety across samples.
/// </summary>
public sealed class MinibatchStdDev : nn.Module<Tensor, Tensor>
{
    public MinibatchStdDev(int groupSize = 4, int features = 1) : base(nameof(MinibatchStdDev))
    {
        if (groupSize < 1 || features < 1) throw new ArgumentException($"MinibatchStdDev: groupSize={groupSize}, features={features} must be >= 1");
        GroupSize = groupSize;
        Features = features;
        RegisterComponents();
    }

    public int GroupSize { get; }
    public int Features { get; }

    public override Tensor forward(Tensor x)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        if (c % Features != 0) throw new ArgumentException($"MinibatchStdDev: {c} channels not divisible into {Features} features");
        // The group is the batch when the batch is smaller than (or not divisible by) the group size.
        long g = Math.Min(GroupSize, n);
        if (n % g != 0) g = n;
        long f = Features;
        using var scope = NewDisposeScope();
        // [G, N/G, F, C/F, H, W]: sample i in group slot i / (N/G), so each group mixes samples from across the batch.
        var y = x.reshape(g, n / g, f, c / f, h, w);
        y = y - y.mean(new long[] { 0 });
        y = (y.square().mean(new long[] { 0 }) + 1e-8).sqrt();          // [N/G, F, C/F, H, W]
        y = y.mean(new long[] { 2, 3, 4 });                               // [N/G, F]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w);                    // [N, F, H, W]
        return cat(new[] { x, y }, 1).MoveToOuterDisposeScope();
    }
}
