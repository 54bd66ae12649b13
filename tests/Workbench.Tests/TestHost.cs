using System.Runtime.CompilerServices;

namespace Workbench.Tests;

/// <summary>The test host is an executable of the project like workbench: it tunes the allocator before any test runs.</summary>
static class TestHost
{
#pragma warning disable CA2255 // the test assembly's entry point: before the first tensor of any test
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() => Workbench.Training.NativeAllocator.Apply();
}
