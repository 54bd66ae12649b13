namespace Workbench.Diffusion;

/// <summary>The two variance schedules of the forward process.</summary>
public enum BetaScheduleKind
{
    /// <summary>β_t linear from β_1 to β_T (Ho et al. 2020, §4: 1e-4 to 0.02 over T = 1000).</summary>
    Linear,
    /// <summary>ᾱ_t = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2), s = 0.008, β_t clipped to 0.999
    /// (Nichol &amp; Dhariwal 2021, §3.2, Eq. 17).</summary>
    Cosine,
}

/// <summary>
/// The variance schedules β_1 … β_T of the forward process (Ho et al. 2020 §4; Nichol &amp; Dhariwal 2021 §3.2, Eq. 17),
/// in float64. Array index i holds β_{i+1} (the code's timestep t = 0 … T−1 is the paper's t = 1 … T).
/// </summary>
public static class BetaSchedule
{
    /// <summary>β_t for a schedule kind: linear from <paramref name="betaStart"/> to <paramref name="betaEnd"/>, or cosine.</summary>
    public static double[] Create(BetaScheduleKind kind, int timesteps, double betaStart = 1e-4, double betaEnd = 0.02) => kind switch
    {
        BetaScheduleKind.Linear => Linear(timesteps, betaStart, betaEnd),
        BetaScheduleKind.Cosine => Cosine(timesteps),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown beta schedule"),
    };

    /// <summary>Ho et al. 2020 §4: β_t evenly spaced from β_1 = <paramref name="betaStart"/> to β_T = <paramref name="betaEnd"/>.
    /// For T = 1000, 1e-4 … 0.02, ᾱ_T = 4.04e-5 (so x_T is nearly N(0, I): L_T ≈ 1e-5 bits/dim).</summary>
    public static double[] Linear(int timesteps, double betaStart = 1e-4, double betaEnd = 0.02)
    {
        if (timesteps < 1) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "need at least one timestep");
        if (!(betaStart > 0 && betaEnd < 1 && betaStart <= betaEnd))
            throw new ArgumentOutOfRangeException(nameof(betaStart), $"betas must satisfy 0 < start ({betaStart}) <= end ({betaEnd}) < 1");
        if (timesteps == 1) return new[] { betaStart };
        return Enumerable.Range(0, timesteps).Select(i => betaStart + (betaEnd - betaStart) * i / (timesteps - 1)).ToArray();
    }

    /// <summary>
    /// Nichol &amp; Dhariwal 2021, Eq. 17: ᾱ_t = f(t)/f(0) with f(t) = cos²(((t/T + s)/(1 + s))·π/2), s = 0.008, and
    /// β_t = min(1 − ᾱ_t/ᾱ_{t−1}, <paramref name="maxBeta"/>) (the clip keeps the last steps from being singular).
    /// ᾱ decays like a cosine: slowly at both ends, linearly in the middle; without the clip ᾱ_T = 0.
    /// </summary>
    public static double[] Cosine(int timesteps, double s = 0.008, double maxBeta = 0.999)
    {
        if (timesteps < 1) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "need at least one timestep");
        double F(double t) => Math.Pow(Math.Cos((t / timesteps + s) / (1 + s) * Math.PI / 2), 2);
        return Enumerable.Range(1, timesteps).Select(t => Math.Min(1 - F(t) / F(t - 1), maxBeta)).ToArray();
    }

    /// <summary>The cosine schedule's ᾱ_t = f(t)/f(0) before clipping, t = 0 … T (Eq. 17), for checks and plots.</summary>
    public static double CosineAlphaBar(double t, int timesteps, double s = 0.008)
    {
        double F(double u) => Math.Pow(Math.Cos((u / timesteps + s) / (1 + s) * Math.PI / 2), 2);
        return F(t) / F(0);
    }
}
