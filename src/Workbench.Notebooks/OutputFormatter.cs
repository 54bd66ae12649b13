using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using Microsoft.Data.Analysis;
using Workbench.Notebooks.Scripting;

namespace Workbench.Notebooks;

/// <summary>
/// Turns a value into a MIME bundle (mime type → text; image/png as base64), the way .NET Interactive
/// would: first the formatters a type declares through an attribute named <c>TypeFormatterSourceAttribute</c>
/// (found by name, so the library needs no kernel package: our Workbench library and TorchSharp both do
/// this), then defaults for strings, numbers, DataFrames and sequences. text/plain is always
/// present so every viewer shows something.
/// </summary>
public static class OutputFormatter
{
    public const string PlainText = "text/plain";
    public const string Html = "text/html";
    public const string Png = "image/png";

    /// <summary>Rows of a DataFrame shown in its HTML table.</summary>
    public const int DataFrameRows = 20;

    /// <summary>Items of a sequence shown in its text form.</summary>
    public const int SequenceItems = 20;

    public static IReadOnlyDictionary<string, string> Format(object? value, IReadOnlyCollection<string>? mimeTypes = null)
    {
        var bundle = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value is not null)
        {
            foreach (var formatter in DeclaredFormatters(value.GetType()))
            {
                if (bundle.ContainsKey(formatter.MimeType)) continue;
                var writer = new StringWriter(CultureInfo.InvariantCulture);
                if (formatter.Format(value, writer))
                    bundle[formatter.MimeType] = formatter.MimeType == Png ? writer.ToString().Trim() : writer.ToString();
            }
            foreach (var (mime, text) in Defaults(value))
                bundle.TryAdd(mime, text);
        }
        bundle.TryAdd(PlainText, PlainTextOf(value));

        if (mimeTypes is { Count: > 0 })
        {
            var chosen = bundle.Where(kv => mimeTypes.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            return chosen.Count > 0 ? chosen : new Dictionary<string, string> { [PlainText] = bundle[PlainText] };
        }
        return bundle;
    }

    // ---- formatters declared by the type (duck-typed, as .NET Interactive does) ----

    sealed record DeclaredFormatter(string MimeType, Func<object, TextWriter, bool> Format);

    static readonly ConcurrentDictionary<Type, IReadOnlyList<DeclaredFormatter>> FormattersByType = new();

    static IReadOnlyList<DeclaredFormatter> DeclaredFormatters(Type type) => FormattersByType.GetOrAdd(type, t =>
    {
        var sources = new List<Type>();
        // The type itself, then its base types, then its interfaces: the most specific declaration wins.
        for (var cur = t; cur is not null; cur = cur.BaseType) AddSources(cur, sources);
        foreach (var i in t.GetInterfaces()) AddSources(i, sources);
        return sources.Distinct().SelectMany(CreateFormatters).ToList();
    });

    static void AddSources(Type type, List<Type> sources)
    {
        foreach (var attribute in type.GetCustomAttributes(inherit: false))
        {
            var at = attribute.GetType();
            if (at.Name != "TypeFormatterSourceAttribute") continue;
            if (at.GetProperty("FormatterSourceType")?.GetValue(attribute) is Type source) sources.Add(source);
        }
    }

    const BindingFlags Members = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

    static IEnumerable<DeclaredFormatter> CreateFormatters(Type sourceType)
    {
        var source = Activator.CreateInstance(sourceType, nonPublic: true)
            ?? throw new InvalidOperationException($"cannot create the formatter source {sourceType.FullName}");
        var create = sourceType.GetMethod("CreateTypeFormatters", Members, Type.EmptyTypes)
            ?? throw new InvalidOperationException($"{sourceType.FullName} has no CreateTypeFormatters() method");
        if (create.Invoke(source, null) is not IEnumerable formatters) yield break;
        foreach (var f in formatters)
        {
            if (f is null) continue;
            var ft = f.GetType();
            var mime = ft.GetProperty("MimeType", Members)?.GetValue(f) as string;
            var format = ft.GetMethod("Format", Members, [typeof(object), typeof(TextWriter)]);
            // A formatter without a MIME type or the Format(object, TextWriter) shape is not one we can use.
            if (mime is null || format is null || format.ReturnType != typeof(bool)) continue;
            yield return new DeclaredFormatter(mime, (value, writer) =>
            {
                try { return (bool)format.Invoke(f, [value, writer])!; }
                catch (TargetInvocationException e) when (e.InnerException is not null)
                {
                    throw new InvalidOperationException(
                        $"the {mime} formatter {ft.FullName} failed on a {value.GetType().Name}: {e.InnerException.Message}", e.InnerException);
                }
            });
        }
    }

    // ---- defaults ----

    static IEnumerable<(string Mime, string Text)> Defaults(object value)
    {
        switch (value)
        {
            case HtmlString html:
                yield return (Html, html.Html);
                break;
            case DataFrame df:
                yield return (Html, DataFrameHtml(df));
                break;
        }
    }

    internal static string PlainTextOf(object? value, int depth = 0) => value switch
    {
        null => "<null>",
        string s => s,
        HtmlString h => h.Html,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        DataFrame df => df.ToString(),
        IDictionary d when depth == 0 => Dictionary(d),
        IEnumerable e when depth == 0 && !HasOwnToString(value.GetType()) => Sequence(e),
        _ => value.ToString() ?? "",
    };

    static string Dictionary(IDictionary d)
    {
        var items = new List<string>();
        // IDictionary's own enumerator yields DictionaryEntry (the IEnumerable one may yield KeyValuePair).
        var entries = d.GetEnumerator();
        while (entries.MoveNext() && items.Count < SequenceItems)
            items.Add($"{PlainTextOf(entries.Key, 1)}: {PlainTextOf(entries.Value, 1)}");
        return "{ " + string.Join(", ", items) + (d.Count > SequenceItems ? ", …" : "") + " }";
    }

    static string Sequence(IEnumerable e)
    {
        var items = new List<string>();
        bool more = false;
        foreach (var item in e)
        {
            if (items.Count == SequenceItems) { more = true; break; }
            items.Add(PlainTextOf(item, 1));
        }
        return "[" + string.Join(", ", items) + (more ? ", …" : "") + "]";
    }

    // A collection that overrides ToString (a tensor, a record wrapping a list) knows best how to show itself.
    static bool HasOwnToString(Type t) =>
        t.GetMethod("ToString", Type.EmptyTypes)?.DeclaringType is { } d && d != typeof(object) && !d.IsGenericType
        && d.Namespace?.StartsWith("System", StringComparison.Ordinal) != true;

    // Six significant digits: a table is for reading; the DataFrame keeps full precision.
    static string Cell(object? value) => value switch
    {
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        _ => PlainTextOf(value, 1),
    };

    static string DataFrameHtml(DataFrame df)
    {
        var sb = new StringBuilder("<table class=\"dataframe\"><thead><tr>");
        foreach (var c in df.Columns) sb.Append("<th>").Append(WebUtility.HtmlEncode(c.Name)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        long shown = Math.Min(df.Rows.Count, DataFrameRows);
        for (long r = 0; r < shown; r++)
        {
            sb.Append("<tr>");
            foreach (var c in df.Columns)
                sb.Append("<td>").Append(WebUtility.HtmlEncode(Cell(c[r]))).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (df.Rows.Count > shown)
            sb.Append(CultureInfo.InvariantCulture, $"<p>{shown} of {df.Rows.Count} rows, {df.Columns.Count} columns</p>");
        return sb.ToString();
    }
}
