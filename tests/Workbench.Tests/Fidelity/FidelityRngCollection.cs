namespace Workbench.Tests.Fidelity;

/// <summary>
/// Tests that reseed libtorch's global generator and redraw the same numbers to recompute a result by hand: other
/// tests drawing from that generator in parallel would shift the sequence, so xunit runs this collection alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FidelityRngCollection
{
    public const string Name = "fidelity global RNG";
}
