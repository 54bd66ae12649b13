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

/// <summary>Thrown inside a [SkippableFact] to report the test skipped, with the message as the reason.</summary>
public sealed class SkipTestException(string reason) : Exception(reason);

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
        TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod) { }

    public override async Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus,
        object[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        var bus = new SkippingMessageBus(messageBus);
        var summary = await base.RunAsync(diagnosticMessageSink, bus, constructorArguments, aggregator, cancellationTokenSource);
        if (bus.Skipped > 0)
        {
            summary.Failed -= bus.Skipped;
            summary.Skipped += bus.Skipped;
        }
        return summary;
    }

    sealed class SkippingMessageBus(IMessageBus inner) : IMessageBus
    {
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
}
