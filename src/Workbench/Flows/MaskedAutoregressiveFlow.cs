using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// Masked Autoregressive Flow (Papamakarios et al. 2017, Section 3): a stack of <see cref="Made"/>s, each in the reverse
/// order of the one before. In each, data x and noise u relate by x_i = u_i exp(α_i) + μ_i with (μ_i, α_i) computed from
/// x_1:i−1 (Eq. 2-3). <see cref="FlowLayer.Forward"/> (data → noise, the density direction) runs each MADE once:
/// u = (x − μ) exp(−α), log|det du/dx| = −Σ_i α_i (Eq. 5). <see cref="Inverse"/> (noise → data, sampling) needs D passes
/// per MADE, each fixing one more coordinate.
/// </summary>
public sealed class MaskedAutoregressiveFlow : FlowLayer
{
    readonly ModuleList<Made> mades;

    /// <param name="dimensions">D.</param>
    /// <param name="mades">MADEs in the stack (orders alternate 1..D, D..1).</param>
    /// <param name="hidden">units per hidden layer of each MADE.</param>
    /// <param name="hiddenLayers">hidden layers of each MADE.</param>
    public MaskedAutoregressiveFlow(long dimensions, int mades = 5, long hidden = 64, int hiddenLayers = 2)
        : base(nameof(MaskedAutoregressiveFlow))
    {
        if (mades < 1) throw new ArgumentOutOfRangeException(nameof(mades), mades, "MAF needs at least one MADE");
        Dimensions = dimensions;
        this.mades = new ModuleList<Made>(Enumerable.Range(0, mades)
            .Select(k => new Made(dimensions, hidden, hiddenLayers, reversed: k % 2 == 1)).ToArray());
        RegisterComponents();
    }

    public long Dimensions { get; }

    /// <summary>The MADEs, data side first.</summary>
    public IReadOnlyList<Made> Mades => mades.ToList();

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Dimensions, nameof(MaskedAutoregressiveFlow));
        using var scope = NewDisposeScope();
        var logdet = zeros(x.shape[0], dtype: x.dtype, device: x.device);
        foreach (var made in mades)
        {
            var (mu, alpha) = made.call(x);
            x = (x - mu) * exp(-alpha);
            logdet = logdet - alpha.sum(new long[] { 1 });
        }
        return (x.MoveToOuterDisposeScope(), logdet.MoveToOuterDisposeScope());
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Dimensions, nameof(MaskedAutoregressiveFlow));
        using var scope = NewDisposeScope();
        for (int k = mades.Count - 1; k >= 0; k--)
        {
            // x = u exp(α(x)) + μ(x): after pass t the first t coordinates in the MADE's order are exact.
            // one scope per pass: only the current estimate outlives it (the graph keeps what backward needs)
            var x = zeros_like(y);
            for (long t = 0; t < Dimensions; t++)
            {
                using var pass = NewDisposeScope();
                var (mu, alpha) = mades[k].call(x);
                var next = (y * exp(alpha) + mu).MoveToOuterDisposeScope();
                x.Dispose();
                x = next;
            }
            y = x;
        }
        return y.MoveToOuterDisposeScope();
    }
}
