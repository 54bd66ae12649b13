using System.Text;
using System.Text.RegularExpressions;

namespace Workbench.Notebooks;

/// <summary>
/// A KaTeX distribution found on this machine (Debian's <c>libjs-katex</c>, or npm's <c>katex</c> package), turned into
/// one self-contained head fragment: the stylesheet with its WOFF2 fonts as data URIs, katex.js, the auto-render
/// extension, and a call that typesets the <c>.math</c> elements Markdig's mathematics extension writes
/// (<c>\( … \)</c> inline, <c>\[ … \]</c> display). The page then renders its formulas offline.
/// </summary>
public sealed partial class Katex
{
    /// <summary>Folders searched, in order, after <c>WORKBENCH_KATEX</c>: npm's package under the repository, then Debian's.</summary>
    public static IReadOnlyList<string> SearchedFolders()
    {
        var folders = new List<string>();
        if (Environment.GetEnvironmentVariable("WORKBENCH_KATEX") is { Length: > 0 } fromEnvironment) folders.Add(fromEnvironment);
        if (Workbench.Data.DatasetResolver.FindRepositoryRoot() is { } root) folders.Add(Path.Combine(root, "node_modules", "katex", "dist"));
        folders.Add("/usr/share/javascript/katex");
        return folders;
    }

    /// <summary>The head fragment (style and scripts) to embed in a page that has math.</summary>
    public string HeadFragment { get; }

    /// <summary>The folder the distribution was read from.</summary>
    public string Folder { get; }

    Katex(string folder, string headFragment) { Folder = folder; HeadFragment = headFragment; }

    static readonly Lazy<Katex?> Found = new(() => SearchedFolders().Select(TryLoad).FirstOrDefault(k => k is not null));

    /// <summary>The first complete distribution in <see cref="SearchedFolders"/> (read once per process), or null.</summary>
    public static Katex? Find() => Found.Value;

    /// <summary>
    /// The distribution in <paramref name="folder"/> (katex.min.js or katex.js, katex.min.css, contrib/auto-render.min.js
    /// or contrib/auto-render.js, the fonts the stylesheet names), or null when a piece is missing.
    /// </summary>
    public static Katex? TryLoad(string folder)
    {
        string? First(params string[] names) => names.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);
        if (First("katex.min.js", "katex.js") is not { } js || First("katex.min.css", "katex.css") is not { } css
            || First(Path.Combine("contrib", "auto-render.min.js"), Path.Combine("contrib", "auto-render.js")) is not { } autoRender)
            return null;
        var style = InlineFonts(File.ReadAllText(css), Path.GetDirectoryName(css)!);
        if (style is null) return null;
        var head = new StringBuilder()
            .Append("<style>\n").Append(style).Append("\n</style>\n")
            .Append("<script>\n").Append(ScriptSafe(File.ReadAllText(js))).Append("\n</script>\n")
            .Append("<script>\n").Append(ScriptSafe(File.ReadAllText(autoRender))).Append("\n</script>\n")
            .Append("<script>\n").Append(RenderCall).Append("\n</script>\n");
        return new Katex(folder, head.ToString());
    }

    const string RenderCall = """
        document.addEventListener("DOMContentLoaded", function () {
          document.querySelectorAll(".math").forEach(function (e) {
            renderMathInElement(e, { delimiters: [ { left: "\\[", right: "\\]", display: true }, { left: "\\(", right: "\\)", display: false } ],
                                     throwOnError: false });
          });
        });
        """;

    /// <summary>
    /// Each @font-face keeps its WOFF2 source only, as a data URI (every browser that runs KaTeX reads WOFF2); null when
    /// a named font file is missing.
    /// </summary>
    static string? InlineFonts(string css, string cssFolder)
    {
        bool missing = false;
        var result = FontSources().Replace(css, m =>
        {
            var woff2 = WoffTwo().Match(m.Value);
            var path = woff2.Success ? Path.Combine(cssFolder, woff2.Groups[1].Value) : null;
            if (path is null || !File.Exists(path)) { missing = true; return m.Value; }
            return $"src:url(data:font/woff2;base64,{Convert.ToBase64String(File.ReadAllBytes(path))}) format('woff2')";
        });
        return missing ? null : result;
    }

    static string ScriptSafe(string js) => js.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex(@"src:\s*url\([^;}]*")]
    private static partial Regex FontSources();

    [GeneratedRegex(@"url\(['""]?([^'"")]+\.woff2)['""]?\)")]
    private static partial Regex WoffTwo();
}
