using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// Sampling with a score by Langevin dynamics (Song &amp; Ermon 2019, §2.2 Eq. 4 and Algorithm 1, annealed):
/// x ← x + (δ/2) ∇_x log p(x) + √δ z, z ~ N(0, I); for small δ and many steps x is distributed as p. The annealed
/// version walks down noise levels σ_1 &gt; … &gt; σ_L with step δ_i = ε σ_i²/σ_L², here on the diffusion's own
/// marginals q(x_t) (score from an ε-predictor via <see cref="ScoreFunction"/>). Every step inside a dispose scope,
/// without gradients.
/// </summary>
public static class LangevinDynamics
{
    /// <summary><paramref name="steps"/> Langevin steps of size <paramref name="stepSize"/> from <paramref name="x"/> with the
    /// given score; noise from <paramref name="generator"/> or libtorch's global one.</summary>
    public static Tensor Sample(Func<Tensor, Tensor> score, Tensor x, double stepSize, int steps, Generator? generator = null)
    {
        if (!(stepSize > 0)) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "step size must be positive");
        using var _ = no_grad();
        var current = x.clone();
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var next = current + 0.5 * stepSize * score(current)
                       + Math.Sqrt(stepSize) * randn(current.shape, dtype: current.dtype, device: current.device, generator: generator);
            current.Dispose();
            current = next.MoveToOuterDisposeScope();
        }
        return current;
    }

    /// <summary>
    /// Annealed Langevin dynamics (Song &amp; Ermon 2019, Algorithm 1) over the diffusion's noise levels at the code
    /// timesteps <paramref name="levels"/> (from noisiest to cleanest): at level t, <paramref name="stepsPerLevel"/> steps of
    /// size δ_t = ε·σ_t²/σ_last² with the score <paramref name="score"/>(x, t).
    /// </summary>
    public static Tensor Annealed(ForwardProcess q, Func<Tensor, int, Tensor> score, Tensor x, IReadOnlyList<int> levels,
        int stepsPerLevel, double epsilon, Generator? generator = null)
    {
        double last = 1 - q.AlphaBars[levels[^1]];
        var current = x.clone();
        foreach (int t in levels)
        {
            double delta = epsilon * (1 - q.AlphaBars[t]) / last;
            var next = Sample(xx => score(xx, t), current, delta, stepsPerLevel, generator);
            current.Dispose();
            current = next;
        }
        return current;
    }
}
