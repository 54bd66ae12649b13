using System.Text.Json.Nodes;

namespace Workbench.Notebooks.Scripting;

/// <summary>
/// What a notebook's code sees of the kernel, mirroring .NET Interactive's <c>Kernel</c> class (imported with
/// <c>using static</c>, so cells call <c>display(x)</c> unqualified, exactly as in Polyglot Notebooks).
/// </summary>
public static class Kernel
{
    /// <summary>Shows a value below the running cell; the handle replaces it in place later.</summary>
    public static DisplayedValue display(object? value, params string[] mimeTypes) =>
        NotebookSession.Require().Display(value, mimeTypes);

    /// <summary>Wraps a string of HTML so that it is displayed as HTML, not as text.</summary>
    public static HtmlString HTML(string html) => new(html);
}

/// <summary><c>x.Display()</c>, as .NET Interactive offers it.</summary>
public static class DisplayExtensions
{
    public static DisplayedValue Display(this object? value, params string[] mimeTypes) =>
        NotebookSession.Require().Display(value, mimeTypes);
}

/// <summary>HTML to display as is.</summary>
public sealed record HtmlString(string Html)
{
    public override string ToString() => Html;
}

/// <summary>
/// A displayed output; <see cref="Update"/> replaces it in place (a training loop keeps one live chart).
/// Headless, the last update is what the executed notebook stores.
/// </summary>
public sealed class DisplayedValue
{
    readonly NotebookSession _session;
    readonly JsonObject _output;
    readonly string[] _mimeTypes;

    internal DisplayedValue(NotebookSession session, JsonObject output, string[] mimeTypes)
    {
        _session = session;
        _output = output;
        _mimeTypes = mimeTypes;
    }

    public void Update(object? value) => _session.Replace(_output, value, _mimeTypes);
}
