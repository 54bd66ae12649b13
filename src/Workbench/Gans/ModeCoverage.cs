using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>How a generator's 2-D samples cover a mixture's modes.</summary>
/// <param name="Covered">modes with at least the threshold of high-quality samples.</param>
/// <param name="Modes">modes of the mixture.</param>
/// <param name="HighQuality">the fraction of samples within 3σ of their nearest centre.</param>
/// <param name="PerMode">high-quality samples per mode.</param>
public sealed record ModeReport(int Covered, int Modes, double HighQuality, int[] PerMode)
{
    public override string ToString() => $"{Covered}/{Modes} modes, {HighQuality:P1} high quality";
}

/// <summary>
/// The mode-collapse protocol of the 2-D toys (VEEGAN, Srivastava et al. 2017, Section 5.1; PacGAN, Lin et al. 2018,
/// Section 5.1; the unrolled-GAN and WGAN-GP papers plot the same toys): each sample is assigned to its nearest centre;
/// it is high quality when within <c>3σ</c> of it; a mode is covered when at least <c>minSamples</c> high-quality
/// samples land on it (PacGAN: 20 of 2,500 samples, a fifth of the 100 a grid mode expects; VEEGAN counts one).
/// </summary>
public static class ModeCoverage
{
    public static ModeReport Measure(Tensor samples, GaussianMixtureToy toy, int minSamples = 20, double withinStd = 3) =>
        Measure(samples, toy.Centres(), toy.Std, minSamples, withinStd);

    public static ModeReport Measure(Tensor samples, Tensor centres, double std, int minSamples = 20, double withinStd = 3)
    {
        Nn.Shapes.Expect(samples, "ModeCoverage: samples", "n", 2);
        Nn.Shapes.Expect(centres, "ModeCoverage: centres", "K", 2);
        if (minSamples < 1) throw new ArgumentOutOfRangeException(nameof(minSamples), minSamples, "ModeCoverage: minSamples must be >= 1");
        using var scope = NewDisposeScope();
        var x = samples.detach().cpu().to(ScalarType.Float64);
        var c = centres.cpu().to(ScalarType.Float64);
        int k = (int)c.shape[0];
        var dist = cdist(x, c);                                   // [n, K]
        var (nearest, index) = dist.min(1);
        var good = nearest.le(withinStd * std);
        long n = x.shape[0];
        double hq = n == 0 ? 0 : good.to(ScalarType.Float64).mean().item<double>();
        var counts = bincount(index.masked_select(good), minlength: k).data<long>().Select(v => (int)v).ToArray();
        return new ModeReport(counts.Count(v => v >= minSamples), k, hq, counts);
    }
}
