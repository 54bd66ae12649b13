namespace Workbench.StyleGan2;

/// <summary>How the synthesis network draws its per-pixel noise (Section 2 / Fig. 2 of the paper: the B inputs).</summary>
public enum NoiseMode
{
    /// <summary>Fresh N(0, 1) noise on every call (training).</summary>
    Random,
    /// <summary>A fixed noise image per layer, stored as a buffer (reproducible sample grids).</summary>
    Const,
    /// <summary>No noise at all.</summary>
    None,
    /// <summary>The noise image each layer was given (<see cref="NoiseInjection.Given"/>), e.g. the maps a projection optimises.</summary>
    Given,
}
