namespace Workbench.Plots;

/// <summary>
/// Names the formatter source of a displayable type. .NET Interactive (Polyglot Notebooks) finds this attribute
/// by its type name, not its assembly, so the library needs no dependency on the kernel's packages; our headless
/// runner does the same. The source type has a parameterless constructor and a <c>CreateTypeFormatters()</c>
/// method returning formatters, each with a <c>MimeType</c> and <c>bool Format(object instance, TextWriter writer)</c>
/// (see <see cref="MimeFormatter{T}"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface, Inherited = true)]
public sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
{
    public Type FormatterSourceType { get; } = formatterSourceType;

    /// <summary>The MIME types the kernel should prefer for this type, best first.</summary>
    public string[]? PreferredMimeTypes { get; set; }
}

/// <summary>
/// One formatter in the duck-typed shape .NET Interactive expects: it formats instances of <typeparamref name="T"/>
/// as <see cref="MimeType"/> and declines (returns false) anything else. For binary types such as image/png the
/// writer receives the base64 text of the bytes.
/// </summary>
public sealed class MimeFormatter<T>(string mimeType, Action<T, TextWriter> format)
{
    public string MimeType { get; } = mimeType;
    public Type Type => typeof(T);

    public bool Format(object instance, TextWriter writer)
    {
        if (instance is not T t) return false;
        format(t, writer);
        return true;
    }
}
