namespace Workbench.Training;

/// <summary>
/// Marks a config record whose older files also hold the fields of <see cref="Record"/> (they moved there, e.g. StyleGAN2's
/// training settings out of <c>StyleGan2Config</c>): <see cref="ConfigEvolution"/> reads such a file without them, and
/// <see cref="ConfigEvolution.MoveTrainingFields"/> moves them into the run config's training record.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class FieldsMovedToAttribute(Type record, string since) : Attribute
{
    /// <summary>The record that owns the fields now.</summary>
    public Type Record { get; } = record;

    /// <summary>When they moved (a date or version).</summary>
    public string Since { get; } = since;
}
