namespace Workbench.Training;

/// <summary>
/// Marks a config field added after checkpoints, run.json files or zoo cards were written without it. Such a file is
/// read with the field set to <see cref="OlderValue"/> (JSON), the behaviour the file was made with, which may differ
/// from the field's default for new configs; <see cref="ConfigEvolution"/> fills it and reports each one.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class AddedFieldAttribute(string olderValue, string since) : Attribute
{
    /// <summary>The value, as JSON, that reproduces what files written before the field existed did.</summary>
    public string OlderValue { get; } = olderValue;

    /// <summary>When the field was added (a date or version), for the message.</summary>
    public string Since { get; } = since;
}
