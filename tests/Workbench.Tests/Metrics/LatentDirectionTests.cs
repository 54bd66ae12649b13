using Workbench.Metrics;
using static TorchSharp.torch;

namespace Workbench.Tests.Metrics;

public class LatentDirectionTests
{
    [Fact]
    public void MeanDifferenceIsTheDifferenceOfTheGroupMeans()
    {
        using var scope = NewDisposeScope();
        var pos = tensor(new double[,] { { 1, 2 }, { 3, 4 } });
        var neg = tensor(new double[,] { { 0, 0 }, { 0, 2 }, { 3, 1 } });
        Assert.Equal(new[] { 1.0, 2.0 }, LatentDirection.MeanDifference(pos, neg).data<double>().ToArray());
    }

    [Fact]
    public void ScoresThatFollowOneDirectionRecoverIt()
    {
        // Latents in 16-d, the score a noisy projection on a known unit direction u: the top-minus-bottom direction
        // must point along u (cosine > 0.95), and flipping the scores flips it.
        using var scope = NewDisposeScope();
        var g = new Generator().manual_seed(5);
        var u = randn(new long[] { 16 }, ScalarType.Float64, generator: g);
        u = u / u.norm();
        var z = randn(new long[] { 2000, 16 }, ScalarType.Float64, generator: g);
        var scores = z.matmul(u) + 0.3 * randn(new long[] { 2000 }, ScalarType.Float64, generator: g);
        var d = LatentDirection.FromScores(z, scores);
        double cos = (d.dot(u) / d.norm()).item<double>();
        Assert.True(cos > 0.95, $"cosine {cos}");
        var flipped = LatentDirection.FromScores(z, -scores);
        Assert.True(allclose(flipped, -d), "reversed scores should give the reversed direction");
    }
}
