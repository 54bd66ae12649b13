using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class DirectivesTests
{
    [Fact]
    public void DirectiveLinesBecomeEmptyLinesSoLineNumbersHold()
    {
        var cell = Directives.Prepare("#!csharp\n#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"../lib/My.dll\" // comment\nvar x = 1;\nx");
        Assert.Equal("\n\n\nvar x = 1;\nx", cell.Code);
        var p = Assert.Single(cell.Packages);
        Assert.Equal(("TorchSharp-cpu", "0.107.0", 2), (p.Id, p.Version, p.Line));
        var a = Assert.Single(cell.Assemblies);
        Assert.Equal(("../lib/My.dll", 3), (a.Path, a.Line));
    }

    [Fact]
    public void PreprocessorDirectivesAreLeftToTheCompiler()
    {
        var code = "#nullable enable\n#pragma warning disable CS0168\nint y;";
        Assert.Equal(code, Directives.Prepare(code).Code);
    }

    [Theory]
    [InlineData("#!fsharp\nlet x = 1", 1, "another kernel")]
    [InlineData("var a = 1;\n#!time", 2, "#!time")]
    [InlineData("#i \"nuget: https://example.org/v3/index.json\"", 1, "package sources")]
    [InlineData("#r nuget: X", 1, "expected #r")]
    [InlineData("#load \"other.csx\"", 1, "#load")]
    public void UnsupportedDirectivesFailWithTheirLine(string source, int line, string expected)
    {
        var e = Assert.Throws<DirectiveException>(() => Directives.Prepare(source));
        Assert.Equal(line, e.Line);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("TorchSharp-cpu", "0.107.0", "TorchSharp")]
    [InlineData("torchsharp-cuda-linux", "0.107.0", "TorchSharp")]
    [InlineData("Plotly.NET", "6.0.0", "Plotly.NET")]
    [InlineData("Plotly.NET.Interactive", "6.0.0", "Plotly.NET")]
    [InlineData("Microsoft.Data.Analysis", "0.23.1", "Microsoft.Data.Analysis")]
    [InlineData("Microsoft.Data.Analysis", null, "Microsoft.Data.Analysis")]
    public void CarriedPackagesResolveToLoadedAssemblies(string id, string? version, string assembly)
    {
        var assemblies = CarriedPackages.Resolve(new PackageReferenceDirective(id, version, 1));
        Assert.Contains(assemblies, a => a.GetName().Name == assembly);
    }

    [Fact]
    public void APackageTheRunnerDoesNotCarryNamesWhatItCarries()
    {
        var e = Assert.Throws<DirectiveException>(() => CarriedPackages.Resolve(new("Newtonsoft.Json", "13.0.3", 4)));
        Assert.Equal(4, e.Line);
        Assert.Contains("does not carry Newtonsoft.Json", e.Message);
        Assert.Contains("TorchSharp-cpu 0.107.0", e.Message);
        Assert.Contains("Plotly.NET 6.0.0", e.Message);
    }

    [Fact]
    public void AnotherVersionOfACarriedPackageIsRefused()
    {
        var e = Assert.Throws<DirectiveException>(() => CarriedPackages.Resolve(new("TorchSharp-cpu", "0.105.0", 2)));
        Assert.Contains("carries TorchSharp-cpu 0.107.0", e.Message);
    }

    [Theory]
    [InlineData("6.0.0", "6.0.0", true)]
    [InlineData("6.0", "6.0.0", true)]
    [InlineData("6.0.*", "6.0.0", true)]
    [InlineData("*", "6.0.0", true)]
    [InlineData("5.1.0", "6.0.0", false)]
    public void VersionMatching(string wanted, string carried, bool matches) =>
        Assert.Equal(matches, CarriedPackages.VersionMatches(wanted, carried));

    [Fact]
    public void RelativeDllBindsToTheAssemblyAlreadyLoaded()
    {
        // A copy of Workbench.dll elsewhere on disk: the runner must still hand out the loaded one, so that
        // the notebook's types are the runner's types.
        var dir = Path.Combine(Path.GetTempPath(), "wb-nb-tests", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        var loaded = typeof(Workbench.Training.Devices).Assembly;
        File.Copy(loaded.Location, Path.Combine(dir, "lib", "Workbench.dll"));
        var resolved = Directives.ResolveAssembly(new AssemblyReferenceDirective("../lib/Workbench.dll", 3), Path.Combine(dir, "nb"));
        Assert.Same(loaded, resolved);
    }

    [Fact]
    public void AMissingDllIsAnErrorNamingTheResolvedPath()
    {
        var e = Assert.Throws<DirectiveException>(() =>
            Directives.ResolveAssembly(new AssemblyReferenceDirective("../nowhere/Missing.dll", 5), "/tmp/notebooks"));
        Assert.Equal(5, e.Line);
        Assert.Contains("/tmp/nowhere/Missing.dll", e.Message);
    }
}
