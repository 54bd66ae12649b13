using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Text.RegularExpressions;

namespace Workbench.Notebooks;

/// <summary>A directive (<c>#r</c>, <c>#!…</c>) the runner cannot honour; <see cref="Line"/> is 1-based within the cell.</summary>
public sealed class DirectiveException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}

/// <summary>A <c>#r "nuget: Id, Version"</c> line.</summary>
public sealed record PackageReferenceDirective(string Id, string? Version, int Line);

/// <summary>A <c>#r "path.dll"</c> line, path as written.</summary>
public sealed record AssemblyReferenceDirective(string Path, int Line);

/// <summary>A cell's C# code with the kernel directives taken out, and the directives themselves.</summary>
public sealed record PreparedCell(
    string Code, IReadOnlyList<PackageReferenceDirective> Packages, IReadOnlyList<AssemblyReferenceDirective> Assemblies);

/// <summary>
/// The subset of the .NET Interactive C# kernel's directives our notebooks use. Directive lines become
/// empty lines, so a line number Roslyn reports for the remaining code is the line the author sees in the
/// cell. Anything else that looks like a kernel directive is refused, so a notebook that would behave
/// differently in Polyglot Notebooks fails here instead of silently running something else.
/// </summary>
public static partial class Directives
{
    static readonly HashSet<string> CSharpSelectors = new(StringComparer.Ordinal) { "#!csharp", "#!c#", "#!C#" };

    [GeneratedRegex("""^#r\s+"(?<arg>[^"]*)"\s*(//.*)?$""")]
    private static partial Regex ReferenceLine();

    [GeneratedRegex("""^nuget\s*:\s*(?<id>[^,\s]+)\s*(,\s*(?<version>\S+))?\s*$""", RegexOptions.IgnoreCase)]
    private static partial Regex NugetArgument();

    public static PreparedCell Prepare(string source)
    {
        var packages = new List<PackageReferenceDirective>();
        var assemblies = new List<AssemblyReferenceDirective>();
        var lines = source.Replace("\r\n", "\n").Split('\n');
        var code = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            var line = lines[i];
            var trimmed = line.Trim();
            bool directive = true;
            if (trimmed.StartsWith("#!"))
            {
                var word = trimmed.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
                if (!CSharpSelectors.Contains(word))
                    throw new DirectiveException(lineNo, KnownOtherKernels.Contains(word[2..])
                        ? $"'{word}' switches to another kernel; the headless runner runs C# cells only."
                        : $"magic command '{word}' is not supported by the headless runner (it understands #!csharp, #r \"nuget: …\" and #r \"path.dll\").");
            }
            else if (trimmed.StartsWith("#r ") || trimmed.StartsWith("#r\t") || trimmed == "#r")
            {
                var m = ReferenceLine().Match(trimmed);
                if (!m.Success)
                    throw new DirectiveException(lineNo, $"cannot read '{trimmed}': expected #r \"nuget: Id, Version\" or #r \"path/to/assembly.dll\".");
                var arg = m.Groups["arg"].Value.Trim();
                if (arg.StartsWith("nuget", StringComparison.OrdinalIgnoreCase) && arg.Contains(':'))
                {
                    var n = NugetArgument().Match(arg);
                    if (!n.Success)
                        throw new DirectiveException(lineNo, $"cannot read the package reference '{arg}': expected \"nuget: Id, Version\".");
                    packages.Add(new(n.Groups["id"].Value, n.Groups["version"].Success ? n.Groups["version"].Value : null, lineNo));
                }
                else if (arg.Length == 0)
                    throw new DirectiveException(lineNo, "#r \"\" names no assembly.");
                else
                    assemblies.Add(new(arg, lineNo));
            }
            else if (trimmed.StartsWith("#i ") || trimmed.StartsWith("#i\t"))
                throw new DirectiveException(lineNo, $"'{trimmed}': extra package sources are not supported; the runner only uses the packages it carries ({CarriedPackages.Describe()}).");
            else if (trimmed.StartsWith("#load"))
                throw new DirectiveException(lineNo, $"'{trimmed}': #load is not supported by the headless runner; put shared code in the Workbench library.");
            else
                directive = false;

            if (!directive) code.Append(line);
            if (i < lines.Length - 1) code.Append('\n');
        }
        return new PreparedCell(code.ToString(), packages, assemblies);
    }

    static readonly HashSet<string> KnownOtherKernels = new(StringComparer.OrdinalIgnoreCase)
    {
        "fsharp", "f#", "pwsh", "powershell", "javascript", "js", "html", "markdown", "md", "mermaid", "sql", "kql",
        "http", "python", "value", "vscode", "csharp-script",
    };

    /// <summary>
    /// Resolves <c>#r "path"</c> against the notebook's folder. When an assembly of that name is already
    /// loaded in the runner (our own Workbench library), that one is used, so the notebook's types are the
    /// very types the runner's formatters and the tests see; otherwise the file is loaded.
    /// </summary>
    public static Assembly ResolveAssembly(AssemblyReferenceDirective reference, string notebookFolder)
    {
        var full = Path.GetFullPath(Path.Combine(notebookFolder, reference.Path));
        if (!File.Exists(full))
            throw new DirectiveException(reference.Line,
                $"#r \"{reference.Path}\": no file at {full} (paths resolve against the notebook's folder; build the project that produces it first, e.g. `dotnet build`).");
        AssemblyName name;
        try { name = AssemblyName.GetAssemblyName(full); }
        catch (BadImageFormatException)
        {
            throw new DirectiveException(reference.Line, $"#r \"{reference.Path}\": {full} is not a .NET assembly.");
        }
        var loaded = AssemblyLoadContext.Default.Assemblies.FirstOrDefault(a =>
            !a.IsDynamic && string.Equals(a.GetName().Name, name.Name, StringComparison.OrdinalIgnoreCase));
        if (loaded is not null) return loaded;
        // Not loaded yet, but part of the runner's own application (Workbench is): load the runner's copy,
        // so that a second copy of the same assembly never coexists with it.
        try { return AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(name.Name!)); }
        catch (FileNotFoundException) { return AssemblyLoadContext.Default.LoadFromAssemblyPath(full); }
    }
}

/// <summary>
/// The NuGet packages the runner ships, which satisfy a notebook's <c>#r "nuget: …"</c> lines. Versions come
/// from Directory.Packages.props (stamped into this assembly at build time), so they cannot drift.
/// </summary>
public static class CarriedPackages
{
    // Package id -> the assemblies a script needs to compile against when it asks for the package.
    static readonly Dictionary<string, (string VersionOf, string[] Assemblies)> Map = new(StringComparer.OrdinalIgnoreCase)
    {
        ["TorchSharp"] = ("TorchSharp", ["TorchSharp"]),
        // The libtorch backend is the host's choice (TorchBackend build property): any of these is satisfied
        // by it, exactly like a CPU-only machine would fail a CUDA op, not the reference.
        ["TorchSharp-cpu"] = ("TorchSharp-cpu", ["TorchSharp"]),
        ["TorchSharp-cuda-linux"] = ("TorchSharp-cuda-linux", ["TorchSharp"]),
        ["TorchSharp-cuda-windows"] = ("TorchSharp-cuda-windows", ["TorchSharp"]),
        ["Plotly.NET"] = ("Plotly.NET", ["Plotly.NET", "FSharp.Core", "DynamicObj", "Giraffe.ViewEngine"]),
        // Plotly.NET.Interactive only registers the chart formatter with .NET Interactive; the runner formats
        // charts itself, so the reference is satisfied by Plotly.NET of the same version.
        ["Plotly.NET.Interactive"] = ("Plotly.NET", ["Plotly.NET", "FSharp.Core", "DynamicObj", "Giraffe.ViewEngine"]),
        ["Microsoft.Data.Analysis"] = ("Microsoft.Data.Analysis", ["Microsoft.Data.Analysis", "Microsoft.ML.DataView", "Apache.Arrow"]),
        ["SkiaSharp"] = ("SkiaSharp", ["SkiaSharp"]),
        // Native libSkiaSharp only (no managed assembly): the runner ships it with the library.
        ["SkiaSharp.NativeAssets.Linux.NoDependencies"] = ("SkiaSharp.NativeAssets.Linux.NoDependencies", []),
    };

    static readonly Lazy<Dictionary<string, string>> Versions = new(() =>
    {
        var stamped = typeof(CarriedPackages).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Workbench.CarriedPackageVersions")?.Value ?? "";
        return stamped.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
    });

    static string VersionOf(string id) => Versions.Value.TryGetValue(Map[id].VersionOf, out var v) ? v : "?";

    /// <summary>"TorchSharp-cpu 0.107.0, Plotly.NET 6.0.0, …" for error messages.</summary>
    public static string Describe() => string.Join(", ", Map.Keys.Select(id => $"{id} {VersionOf(id)}"));

    /// <summary>The assemblies that satisfy a package reference, or a <see cref="DirectiveException"/> saying why not.</summary>
    public static IReadOnlyList<Assembly> Resolve(PackageReferenceDirective package)
    {
        if (!Map.TryGetValue(package.Id, out var entry))
            throw new DirectiveException(package.Line,
                $"#r \"nuget: {package.Id}\": the headless runner cannot fetch packages and does not carry {package.Id}; it carries {Describe()}.");
        var carried = VersionOf(package.Id);
        if (package.Version is { } wanted && !VersionMatches(wanted, carried))
            throw new DirectiveException(package.Line,
                $"#r \"nuget: {package.Id}, {wanted}\": the runner carries {package.Id} {carried}; pin that version (carried: {Describe()}).");
        return entry.Assemblies.Select(name => Assembly.Load(new AssemblyName(name))).ToList();
    }

    internal static bool VersionMatches(string wanted, string carried)
    {
        wanted = wanted.Trim();
        if (wanted == "*") return true;
        if (wanted.EndsWith('*')) return carried.StartsWith(wanted[..^1], StringComparison.OrdinalIgnoreCase);
        if (Version.TryParse(Pad(wanted), out var w) && Version.TryParse(Pad(carried), out var c)) return Full(w) == Full(c);
        return string.Equals(wanted, carried, StringComparison.OrdinalIgnoreCase);

        // NuGet treats 6, 6.0 and 6.0.0 as the same version.
        static string Pad(string v) => v.Contains('.') ? v : v + ".0";
        static Version Full(Version v) => new(v.Major, v.Minor, Math.Max(v.Build, 0), Math.Max(v.Revision, 0));
    }
}
