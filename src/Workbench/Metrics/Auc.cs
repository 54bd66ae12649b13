namespace Workbench.Metrics;

/// <summary>
/// The area under the ROC curve of a score that should be higher for <c>positives</c> than for <c>negatives</c>:
/// the probability that a random positive scores above a random negative, ties counting one half (the Mann–Whitney
/// U statistic divided by the number of pairs). 0.5 is chance, 1 a perfect separation.
/// </summary>
public static class Auc
{
    public static double Compute(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        if (positives.Count == 0 || negatives.Count == 0) throw new ArgumentException("Auc: both sets need at least one score");
        var sorted = negatives.OrderBy(x => x).ToArray();
        double wins = 0;
        foreach (var p in positives)
        {
            int below = LowerBound(sorted, p), notAbove = UpperBound(sorted, p);
            wins += below + 0.5 * (notAbove - below);
        }
        return wins / ((double)positives.Count * negatives.Count);
    }

    static int LowerBound(double[] a, double x) { int lo = 0, hi = a.Length; while (lo < hi) { int m = (lo + hi) / 2; if (a[m] < x) lo = m + 1; else hi = m; } return lo; }
    static int UpperBound(double[] a, double x) { int lo = 0, hi = a.Length; while (lo < hi) { int m = (lo + hi) / 2; if (a[m] <= x) lo = m + 1; else hi = m; } return lo; }
}
