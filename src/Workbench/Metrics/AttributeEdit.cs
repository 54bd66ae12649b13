using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>One strength of an attribute edit, measured (see <see cref="AttributeEdit"/>).</summary>
/// <param name="Strength">how far the edit moved along its direction (the caller's units).</param>
/// <param name="Achieved">mean change of the target factor, after − before, in the factor's own units.</param>
/// <param name="Leak">mean absolute change of each other factor, in units of that factor's range (same order as the
/// reader's factors, the target's entry 0).</param>
/// <param name="MeanLeak">the mean of <paramref name="Leak"/> over the other factors.</param>
/// <param name="IdentityShift">mean feature distance between a face and its edit, divided by the mean distance between
/// two different faces of the batch: 0 the same face, 1 as far as another face.</param>
public sealed record AttributeEditRow(double Strength, double Achieved, double[] Leak, double MeanLeak, double IdentityShift);

/// <summary>
/// Scores an attribute edit (seed 000's open problem of changing a face's
/// emotion while keeping everything else). Given N faces before an edit and the same faces after it at several
/// strengths, a factor reader (e.g. <see cref="FactorRegressor.Predict"/> on procedural faces) and a feature map for
/// identity, each strength gets: the change achieved in the target factor, the change leaked into every other factor
/// (mean |Δ| over faces, divided by the factor's range so factors compare), and how far identity moved (mean feature
/// distance between each face and its edit, relative to the mean distance between different faces). A perfect edit has
/// Achieved proportional to strength, Leak 0 and IdentityShift near 0.
/// </summary>
public static class AttributeEdit
{
    /// <summary>Measures each strength's edited faces against <paramref name="before"/> (uint8 [N, C, H, W]).</summary>
    /// <param name="readFactors">images → factors [N, F] (float).</param>
    /// <param name="factorRanges">the width of each factor's range (e.g. 2 for [−1, 1]), F entries.</param>
    /// <param name="target">the column of the edited factor.</param>
    /// <param name="features">images → identity features [N, D] (e.g. a feature network's penultimate layer).</param>
    /// <param name="before">the faces before the edit.</param>
    /// <param name="edits">(strength, edited faces, same order as <paramref name="before"/>) per strength.</param>
    public static IReadOnlyList<AttributeEditRow> Measure(Func<Tensor, Tensor> readFactors, IReadOnlyList<double> factorRanges,
        int target, Func<Tensor, Tensor> features, Tensor before, IEnumerable<(double Strength, Tensor Images)> edits)
    {
        if (before.shape[0] < 2) throw new ArgumentException("AttributeEdit: need at least two faces");
        using var scope = NewDisposeScope();
        var f0 = readFactors(before).to(ScalarType.Float64);
        if (f0.shape[1] != factorRanges.Count) throw new ArgumentException($"AttributeEdit: {factorRanges.Count} ranges for {f0.shape[1]} factors");
        if (target < 0 || target >= factorRanges.Count) throw new ArgumentOutOfRangeException(nameof(target));
        var ranges = tensor(factorRanges.ToArray());
        var id0 = features(before).to(ScalarType.Float64).flatten(1);
        // Mean distance between different faces: the unit of identity shift.
        var pair = NearestNeighbours.Distances(id0, id0);
        long n = id0.shape[0];
        double between = pair.sum().item<double>() / (n * (n - 1.0));
        var rows = new List<AttributeEditRow>();
        foreach (var (strength, images) in edits)
        {
            if (!images.shape.SequenceEqual(before.shape)) throw new ArgumentException("AttributeEdit: an edit's images differ in shape from the originals");
            using var inner = NewDisposeScope();
            var delta = readFactors(images).to(ScalarType.Float64) - f0;
            double achieved = delta.select(1, target).mean().item<double>();
            var leak = (delta.abs().mean(new long[] { 0 }) / ranges).data<double>().ToArray();
            leak[target] = 0;
            double meanLeak = leak.Where((_, i) => i != target).Average();
            var id1 = features(images).to(ScalarType.Float64).flatten(1);
            double moved = (id1 - id0).square().sum(new long[] { 1 }).sqrt().mean().item<double>();
            rows.Add(new AttributeEditRow(strength, achieved, leak, meanLeak, between > 0 ? moved / between : 0));
        }
        return rows;
    }
}
