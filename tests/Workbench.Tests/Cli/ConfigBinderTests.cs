using Workbench.Cli;

namespace Workbench.Tests.Cli;

public class ConfigBinderTests
{
    public enum Mode { Additive, Affine }
    public sealed record Cfg(int Levels = 2, double Lr = 1e-3, Mode Coupling = Mode.Affine, bool Flag = false,
        int[]? Widths = null, long? Seed = null);

    [Fact]
    public void SetsTypedValuesOnACopy()
    {
        var a = new Cfg();
        var b = ConfigBinder.Apply(a, new[] { "levels=3", "Lr=0.0005", "Coupling=additive", "Flag=true", "Widths=8,16", "Seed=7" });
        Assert.Equal(new Cfg(3, 5e-4, Mode.Additive, true, b.Widths, 7), b);
        Assert.Equal(new[] { 8, 16 }, b.Widths);
        Assert.Equal(2, a.Levels); // the original is untouched
    }

    [Fact]
    public void UnknownKeyListsTheValidOnes()
    {
        var e = Assert.Throws<UsageException>(() => ConfigBinder.Apply(new Cfg(), new[] { "Depth=4" }));
        Assert.Contains("no setting 'Depth'", e.Message);
        Assert.Contains("Levels (int) = 2", e.Message);
        Assert.Contains("Coupling (Mode) = Affine", e.Message);
    }

    [Theory]
    [InlineData("Levels=two", "not a valid int")]
    [InlineData("Coupling=Multiplicative", "one of Additive, Affine")]
    [InlineData("Flag=maybe", "not a valid bool")]
    [InlineData("Levels", "expected Key=Value")]
    public void BadValuesAreClearErrors(string assignment, string expected)
    {
        var e = Assert.Throws<UsageException>(() => ConfigBinder.Apply(new Cfg(), new[] { assignment }));
        Assert.Contains(expected, e.Message);
    }
}
