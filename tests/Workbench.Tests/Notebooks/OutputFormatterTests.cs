using Microsoft.Data.Analysis;
using Workbench.Notebooks;
using static TorchSharp.torch;

namespace Workbench.Tests.Notebooks;

/// <summary>A type that declares its formatters the way the Workbench library does: through an attribute
/// that is only recognised by its name. Also used from notebooks in <see cref="NotebookRunnerTests"/>.</summary>
[FormatterConvention.TypeFormatterSource(typeof(FormatterConvention.Source))]
public sealed class Swatch(string colour)
{
    public string Colour { get; } = colour;
    public override string ToString() => $"Swatch({Colour})";
}

/// <summary>Declares formatters for its derived types (<see cref="Circle"/>).</summary>
[FormatterConvention.TypeFormatterSource(typeof(FormatterConvention.Source))]
public class ShapeBase { }

public sealed class Circle : ShapeBase { }

public static class FormatterConvention
{
    // Same name and shape as .NET Interactive's and Workbench.Display's attribute, but a different type.
    [AttributeUsage(AttributeTargets.Class)]
    public sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
    {
        public Type FormatterSourceType { get; } = formatterSourceType;
    }

    internal sealed class Source
    {
        public IEnumerable<object> CreateTypeFormatters()
        {
            yield return new Html();
            yield return new Png();
            yield return new NotAFormatter();
        }
    }

    internal sealed class Html
    {
        public string MimeType => "text/html";
        public bool Format(object instance, TextWriter writer)
        {
            switch (instance)
            {
                case Swatch s: writer.Write($"<div style=\"background:{s.Colour}\">{s.Colour}</div>"); return true;
                case Circle: writer.Write("<svg><circle r=\"1\"/></svg>"); return true;
                default: return false;
            }
        }
    }

    internal sealed class Png
    {
        public string MimeType => "image/png";
        public bool Format(object instance, TextWriter writer)
        {
            if (instance is not Swatch) return false;
            writer.Write(" iVBORw0KGgo= \n"); // base64, trimmed by the runner
            return true;
        }
    }

    internal sealed class NotAFormatter
    {
        public string Name => "no MimeType, no Format";
    }
}

public class OutputFormatterTests
{
    [Fact]
    public void DuckTypedAttributeFormattersAreUsedPlusPlainText()
    {
        var bundle = OutputFormatter.Format(new Swatch("teal"));
        Assert.Equal("<div style=\"background:teal\">teal</div>", bundle["text/html"]);
        Assert.Equal("iVBORw0KGgo=", bundle["image/png"]);
        Assert.Equal("Swatch(teal)", bundle["text/plain"]);
    }

    [Fact]
    public void ABaseTypesDeclarationCovers()
    {
        var bundle = OutputFormatter.Format(new Circle());
        Assert.Equal("<svg><circle r=\"1\"/></svg>", bundle["text/html"]);
        Assert.False(bundle.ContainsKey("image/png")); // that formatter declined
    }

    [Fact]
    public void MimeTypesCanBeRestricted()
    {
        var bundle = OutputFormatter.Format(new Swatch("red"), ["text/plain"]);
        Assert.Equal(["text/plain"], bundle.Keys);
    }

    [Fact]
    public void DefaultsForScalarsStringsAndSequences()
    {
        Assert.Equal("1.5", OutputFormatter.Format(1.5)["text/plain"]);
        Assert.Equal("hello", OutputFormatter.Format("hello")["text/plain"]);
        Assert.Equal("<null>", OutputFormatter.Format(null)["text/plain"]);
        Assert.Equal("[1, 2, 3]", OutputFormatter.Format(new List<int> { 1, 2, 3 })["text/plain"]);
        Assert.EndsWith(", …]", OutputFormatter.Format(Enumerable.Range(0, 100))["text/plain"]);
        Assert.Equal("{ a: 1 }", OutputFormatter.Format(new Dictionary<string, int> { ["a"] = 1 })["text/plain"]);
    }

    [Fact]
    public void TensorsUseTorchSharpsOwnFormatter()
    {
        using var t = ones(2, 2);
        var bundle = OutputFormatter.Format(t);
        Assert.Contains("[2x2]", bundle["text/plain"]);
        Assert.Contains("<pre>", bundle["text/html"]);
    }

    [Fact]
    public void DataFramesAreHtmlTablesOfTheFirstRows()
    {
        var df = new DataFrame(
            new Int32DataFrameColumn("step", Enumerable.Range(0, 30)),
            new DoubleDataFrameColumn("loss", Enumerable.Range(0, 30).Select(i => 1.0 / (i + 1))));
        var html = OutputFormatter.Format(df)["text/html"];
        Assert.StartsWith("<table class=\"dataframe\"><thead><tr><th>step</th><th>loss</th></tr></thead>", html);
        Assert.Equal(OutputFormatter.DataFrameRows, html.Split("<tr>").Length - 2); // header row + the rows shown
        Assert.Contains("<td>0.5</td>", html);
        Assert.Contains("20 of 30 rows", html);
    }
}
