using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class ParametersTests
{
    const string Cell = """
        // knobs
        var quick = false;
        var steps = 300;
        int batch = 64;
        var lr = 1e-3;
        double beta = 0.5;
        var scale = 0.25f;
        var seed = 42L;
        var offset = -3;
        var name = "run";
        var sizes = new[] { 1, 2 };
        """;

    static readonly IReadOnlyList<NotebookParameter> Declared = Parameters.Declared(Cell);

    static string Inject(params (string, string)[] values) =>
        Parameters.BuildInjection(Declared, values.Select(v => KeyValuePair.Create(v.Item1, v.Item2)), "nb.ipynb");

    [Fact]
    public void FindsEveryTopLevelDeclarationWithItsType()
    {
        Assert.Equal(
            [("quick", "bool"), ("steps", "int"), ("batch", "int"), ("lr", "double"), ("beta", "double"), ("scale", "float"),
             ("seed", "long"), ("offset", "int"), ("name", "string"), ("sizes", null)],
            Declared.Select(d => (d.Name, d.TypeName)));
    }

    [Fact]
    public void ValuesBecomeLiteralsOfTheDeclaredType()
    {
        var code = Inject(("quick", "true"), ("steps", "50"), ("lr", "0.01"), ("scale", "0.5"), ("seed", "7"), ("offset", "-1"),
            ("name", "a \"quoted\" name"), ("beta", "2"));
        Assert.Contains("quick = true;", code);
        Assert.Contains("steps = 50;", code);
        Assert.Contains("lr = 0.01d;", code);
        Assert.Contains("scale = 0.5f;", code);
        Assert.Contains("seed = 7L;", code);
        Assert.Contains("offset = -1;", code);
        Assert.Contains("name = \"a \\\"quoted\\\" name\";", code);
        Assert.Contains("beta = 2d;", code);
    }

    [Fact]
    public void AnUnknownNameListsTheDeclaredOnes()
    {
        var e = Assert.Throws<ParameterException>(() => Inject(("stpes", "5")));
        Assert.Contains("nb.ipynb", e.Message);
        Assert.Contains("--param stpes", e.Message);
        Assert.Contains("quick, steps", e.Message);
    }

    [Theory]
    [InlineData("steps", "many", "not a valid int")]
    [InlineData("quick", "yes", "not a valid bool")]
    [InlineData("lr", "1,5", "not a valid double")]
    [InlineData("steps", "3000000000", "not a valid int")]
    [InlineData("sizes", "3", "cannot be set from the command line")]
    public void AValueThatDoesNotParseIsRefused(string name, string value, string expected)
    {
        var e = Assert.Throws<ParameterException>(() => Inject((name, value)));
        Assert.Contains(expected, e.Message);
        Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("steps=5", "steps", "5")]
    [InlineData("name=a=b", "name", "a=b")]
    public void ParsesAssignments(string text, string name, string value) =>
        Assert.Equal(KeyValuePair.Create(name, value), Parameters.ParseAssignment(text));

    [Theory]
    [InlineData("steps")]
    [InlineData("=5")]
    [InlineData("1x=5")]
    public void RefusesMalformedAssignments(string text) =>
        Assert.Throws<ParameterException>(() => Parameters.ParseAssignment(text));
}
