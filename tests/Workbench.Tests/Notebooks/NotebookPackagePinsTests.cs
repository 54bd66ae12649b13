using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Workbench.Tests.Notebooks;

/// <summary>
/// The notebooks load their packages with <c>#r "nuget: Name, Version"</c> (the kernel resolves them itself, not from
/// the solution): every such line, commented-out alternatives included, pins the version the projects build with
/// (Directory.Packages.props, its <c>$(…)</c> properties resolved from Directory.*.props).
/// </summary>
public partial class NotebookPackagePinsTests
{
    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Workbench.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Package name → version, as the solution's projects resolve it.</summary>
    public static Dictionary<string, string> CentralVersions(string root)
    {
        var files = new[] { "Directory.Build.props", "Directory.Packages.props" }.Select(f => Path.Combine(root, f)).Where(File.Exists)
            .Select(XDocument.Load).ToList();
        var properties = files.SelectMany(d => d.Descendants("PropertyGroup").Elements()).ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());
        string Resolve(string v) => PropertyReference().Replace(v, m => properties.TryGetValue(m.Groups[1].Value, out var p) ? p : m.Value);
        return files.SelectMany(d => d.Descendants("PackageVersion"))
            .ToDictionary(e => (string)e.Attribute("Include")!, e => Resolve((string)e.Attribute("Version")!), StringComparer.OrdinalIgnoreCase);
    }

    [Fact]
    public void EveryNugetReferenceInTheNotebooksPinsTheCentralVersion()
    {
        var root = RepoRoot();
        var central = CentralVersions(root);
        var problems = new List<string>();
        int seen = 0;
        foreach (var notebook in Directory.GetFiles(Path.Combine(root, "notebooks"), "*.ipynb").Order())
            foreach (Match m in NugetReference().Matches(File.ReadAllText(notebook)))
            {
                seen++;
                string name = m.Groups[1].Value, version = m.Groups[2].Value;
                if (!central.TryGetValue(name, out var expected)) problems.Add($"{Path.GetFileName(notebook)}: {name} is not in Directory.Packages.props");
                else if (expected != version) problems.Add($"{Path.GetFileName(notebook)}: {name} {version}, Directory.Packages.props has {expected}");
            }
        Assert.True(seen >= 6, $"only {seen} #r \"nuget:…\" lines found in notebooks/");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [GeneratedRegex(@"#r \\""nuget:\s*([^,\\""]+?)\s*,\s*([^\\""]+?)\s*\\""")]
    private static partial Regex NugetReference();

    [GeneratedRegex(@"\$\(([^)]+)\)")]
    private static partial Regex PropertyReference();
}
