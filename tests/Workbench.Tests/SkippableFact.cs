using Xunit.Abstractions;
using Xunit.Sdk;

namespace Workbench.Tests;

/// <summary>
/// A [Fact] that may report itself skipped at run time by throwing <see cref="SkipTestException"/>. xunit 2.9.3
/// has no dynamic skip (Assert.Skip and SkipException are v3 only), and Xunit.SkippableFact is not served here,
/// so this is the same mechanism written out: a test case that turns a failure caused by SkipTestException into
/// a TestSkipped message with the exception's message as the reason. Any other failure stays a failure.
/// </summary>
[XunitTestCaseDiscoverer("Workbench.Tests.SkippableFactDiscoverer", "Workbench.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class SkippableFactAttribute : FactAttribute;

/// <summary>
/// A [Theory] whose data rows may each report themselves skipped at run time by throwing
/// <see cref="SkipTestException"/>, with the same mechanism as <see cref="SkippableFactAttribute"/>.
/// </summary>
[XunitTestCaseDiscoverer("Workbench.Tests.SkippableTheoryDiscoverer", "Workbench.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class SkippableTheoryAttribute : TheoryAttribute;

/// <summary>Thrown inside a [SkippableFact] or [SkippableTheory] to report the test skipped, with the message as the reason.</summary>
public sealed class SkipTestException(string reason) : Exception(reason);

/// <summary>Data a test needs and a fresh machine may lack: a test without it throws <see cref="SkipTestException"/>.</summary>
public static class RequiredData
{
    /// <summary>The Fashion-MNIST files the notebooks, the CLI and the data tests read (train and test splits).</summary>
    public static readonly string[] FashionMnistFiles =
        { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

    /// <summary>Why Fashion-MNIST is unavailable (null when <see cref="DatasetResolver.TryLocate"/> finds all of
    /// <paramref name="files"/>, default <see cref="FashionMnistFiles"/>).</summary>
    public static string? FashionMnistMissing(IEnumerable<string>? files = null) =>
        Workbench.Data.DatasetResolver.TryLocate("fashion-mnist", files ?? FashionMnistFiles) is null
            ? "Fashion-MNIST is not installed (no fashion-mnist folder with the IDX files on the dataset search path: " +
              "apt-get install dataset-fashion-mnist, or set " + Workbench.Data.DatasetResolver.EnvironmentVariable + ")"
            : null;

    /// <summary>
    /// Whether a notebook reads Fashion-MNIST unconditionally: its code calls <c>Datasets.FashionMnist(</c> and does
    /// not check for the data first with <c>DatasetResolver.TryLocate</c>.
    /// </summary>
    public static bool NotebookNeedsFashionMnist(string notebookPath)
    {
        var text = File.ReadAllText(notebookPath);
        return text.Contains("Datasets.FashionMnist(", StringComparison.Ordinal)
            && !text.Contains("DatasetResolver.TryLocate(", StringComparison.Ordinal);
    }

    /// <summary>Throws <see cref="SkipTestException"/> when Fashion-MNIST is unavailable.</summary>
    public static void RequireFashionMnist(IEnumerable<string>? files = null)
    {
        if (FashionMnistMissing(files) is { } reason) throw new SkipTestException(reason);
    }
}

public sealed class SkippableFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        if (factAttribute.GetNamedArgument<string>(nameof(FactAttribute.Skip)) is not null)
            return new FactDiscoverer(diagnosticMessageSink).Discover(discoveryOptions, testMethod, factAttribute);
        return [new SkippableFactTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
    }
}

public sealed class SkippableFactTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkippableFactTestCase() { }

    public SkippableFactTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay,
        TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod, object[]? testMethodArguments = null)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod, testMethodArguments) { }

    public override Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus,
        object[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource) =>
        SkippingMessageBus.RunAsync(messageBus, bus => base.RunAsync(diagnosticMessageSink, bus, constructorArguments, aggregator, cancellationTokenSource));
}

/// <summary>
/// Discovers a [SkippableTheory]: one <see cref="SkippableFactTestCase"/> per serializable data row, or one
/// <see cref="SkippableTheoryTestCase"/> that enumerates the data at run time.
/// </summary>
public sealed class SkippableTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(ITestFrameworkDiscoveryOptions discoveryOptions,
        ITestMethod testMethod, IAttributeInfo theoryAttribute, object[] dataRow) =>
        [new SkippableFactTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, dataRow)];

    protected override IEnumerable<IXunitTestCase> CreateTestCasesForTheory(ITestFrameworkDiscoveryOptions discoveryOptions,
        ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        [new SkippableTheoryTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
}

public sealed class SkippableTheoryTestCase : XunitTheoryTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkippableTheoryTestCase() { }

    public SkippableTheoryTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay,
        TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod) { }

    public override Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus,
        object[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource) =>
        SkippingMessageBus.RunAsync(messageBus, bus => base.RunAsync(diagnosticMessageSink, bus, constructorArguments, aggregator, cancellationTokenSource));
}

/// <summary>Forwards test messages, turning a failure by <see cref="SkipTestException"/> into a TestSkipped message.</summary>
sealed class SkippingMessageBus(IMessageBus inner) : IMessageBus
{
    /// <summary>Runs <paramref name="run"/> on a skipping bus over <paramref name="messageBus"/> and moves the
    /// skipped tests from the summary's failures to its skips.</summary>
    public static async Task<RunSummary> RunAsync(IMessageBus messageBus, Func<IMessageBus, Task<RunSummary>> run)
    {
        var bus = new SkippingMessageBus(messageBus);
        var summary = await run(bus);
        if (bus.Skipped > 0)
        {
            summary.Failed -= bus.Skipped;
            summary.Skipped += bus.Skipped;
        }
        return summary;
    }

    public int Skipped;

    public bool QueueMessage(IMessageSinkMessage message)
    {
        if (message is ITestFailed failed && failed.ExceptionTypes.FirstOrDefault() == typeof(SkipTestException).FullName)
        {
            Skipped++;
            return inner.QueueMessage(new TestSkipped(failed.Test, failed.Messages.FirstOrDefault() ?? "skipped"));
        }
        return inner.QueueMessage(message);
    }

    public void Dispose() { }
}
