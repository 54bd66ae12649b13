using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// The score-based reading of a noise predictor (Song &amp; Ermon 2019; Song et al. 2021, "Score-based generative
/// modeling through SDEs", §3 and App. B; Ho et al. 2020 §3.2 note the link to denoising score matching): since
/// ∇_{x_t} log q(x_t | x_0) = −(x_t − √ᾱ_t x_0)/(1−ᾱ_t) = −ε/σ_t with σ_t = √(1−ᾱ_t), the ε-predictor trained by
/// L_simple estimates the score of the diffused data distribution, s_θ(x_t, t) = −ε_θ(x_t, t)/σ_t.
/// </summary>
public static class ScoreFunction
{
    /// <summary>s_θ(x_t, t) = −ε_θ(x_t, t)/√(1−ᾱ_t), for timesteps t [B].</summary>
    public static Tensor FromNoise(ForwardProcess q, Func<Tensor, Tensor, Tensor> eps, Tensor xt, Tensor t)
    {
        using var scope = NewDisposeScope();
        var sigma = ForwardProcess.Gather(q.SqrtOneMinusAlphaBars, t, xt);
        return (-eps(xt, t) / sigma).MoveToOuterDisposeScope();
    }
}
