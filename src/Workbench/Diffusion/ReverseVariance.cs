namespace Workbench.Diffusion;

/// <summary>
/// The fixed variance σ_t² of the reverse process p_θ(x_{t−1} | x_t) (Ho et al. 2020, §3.2: "σ_t² = β_t and
/// σ_t² = β̃_t had similar results"). At the first step (code t = 0) β̃ is 0, so both use β̃ of the second step there,
/// as the authors' and Nichol &amp; Dhariwal's code do (only the decoder L_0 sees it).
/// </summary>
public enum ReverseVariance
{
    /// <summary>σ_t² = β̃_t, the posterior variance (optimal for x_0 deterministic; "fixedsmall").</summary>
    Small,
    /// <summary>σ_t² = β_t (optimal for x_0 ~ N(0, I); "fixedlarge", the authors' CIFAR-10 sampling choice).</summary>
    Large,
}
