using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>Sums and counts of the bound's terms by code timestep (index T holds L_T), in nats per example, for the
/// per-term breakdown: <see cref="Mean"/> divides by the number of examples each term was evaluated on.</summary>
public sealed class BoundTerms(int timesteps)
{
    readonly double[] _sums = new double[timesteps + 1];
    readonly long[] _counts = new long[timesteps + 1];

    /// <summary>Adds per-example values [B] at per-example timesteps t [B].</summary>
    public void Add(Tensor t, Tensor values)
    {
        var ts = t.cpu().to(ScalarType.Int64).data<long>().ToArray();
        var vs = values.detach().cpu().to(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < ts.Length; i++) { _sums[ts[i]] += vs[i]; _counts[ts[i]]++; }
    }

    /// <summary>The mean of term t over the examples it was evaluated on (NaN where none was).</summary>
    public double Mean(int t) => _counts[t] == 0 ? double.NaN : _sums[t] / _counts[t];

    /// <summary>Every term's mean, index 0 … T.</summary>
    public double[] Means => Enumerable.Range(0, _sums.Length).Select(Mean).ToArray();
}
