namespace Workbench.Tests.Training;

/// <summary>
/// Tests that compare runs drawn from libtorch's global generator (Seeding.Set, randn without a generator) must not
/// run beside other tests, which draw from the same generator: put them in this collection,
/// <c>[Collection(GlobalRngCollection.Name)]</c>. xunit runs it after the parallel tests, alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "global RNG";
}
