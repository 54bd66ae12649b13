using System.Text.Json.Nodes;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class NotebookDocumentTests
{
    const string Sample = """
        {
         "cells": [
          {
           "cell_type": "markdown",
           "id": "intro-1",
           "metadata": { "custom": { "keep": [1, 2] } },
           "source": ["# Title\n", "text"],
           "attachments": { "a.png": { "image/png": "iVBORw0KGgo=" } }
          },
          {
           "cell_type": "code",
           "execution_count": null,
           "id": "code_2",
           "metadata": { "dotnet_interactive": { "language": "csharp" }, "polyglot_notebook": { "kernelName": "csharp" }, "tags": ["parameters"] },
           "outputs": [],
           "source": "var quick = false;"
          }
         ],
         "metadata": {
          "kernelspec": { "display_name": ".NET (C#)", "language": "C#", "name": ".net-csharp" },
          "polyglot_notebook": { "kernelInfo": { "defaultKernelName": "csharp", "items": [ { "aliases": [], "name": "csharp" } ] } },
          "vendor_thing": { "x": "é ünïcode <b>" }
         },
         "nbformat": 4,
         "nbformat_minor": 5
        }
        """;

    [Fact]
    public void RoundTripPreservesMetadataIdsAndUnknownKeys()
    {
        var nb = NotebookDocument.Parse(Sample);
        var again = NotebookDocument.Parse(nb.ToJson());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Sample), JsonNode.Parse(again.ToJson())));
        Assert.Equal(["intro-1", "code_2"], again.Cells.Select(c => c.Id));
        Assert.Contains("é ünïcode <b>", nb.ToJson()); // written readable, not \u-escaped
    }

    [Fact]
    public void ReadsSourceAsStringOrLinesAndTags()
    {
        var nb = NotebookDocument.Parse(Sample);
        Assert.Equal("# Title\ntext", nb.Cells[0].Source);
        Assert.Equal("var quick = false;", nb.Cells[1].Source);
        Assert.Equal(["parameters"], nb.Cells[1].Tags);
        Assert.Equal("csharp", nb.Cells[1].KernelName);
    }

    [Fact]
    public void UpgradeToMinor5GivesEveryCellAValidId()
    {
        var nb = NotebookDocument.Parse("""
            {"cells":[{"cell_type":"code","metadata":{},"source":"1","outputs":[],"execution_count":null},
                      {"cell_type":"markdown","id":"kept","metadata":{},"source":""}],
             "metadata":{},"nbformat":4,"nbformat_minor":4}
            """);
        nb.UpgradeToMinor5();
        Assert.Equal(5, nb.FormatMinor);
        Assert.Matches("^[a-zA-Z0-9-_]{1,64}$", nb.Cells[0].Id!);
        Assert.Equal("kept", nb.Cells[1].Id);
        TestNotebooks.AssertValid(nb);
    }

    [Fact]
    public void MultilineSplitKeepsNewlines()
    {
        Assert.Equal(["a\n", "b\n", "c"], NotebookDocument.ToMultiline("a\nb\nc").Select(n => (string)n!));
        Assert.Equal(["a\n"], NotebookDocument.ToMultiline("a\n").Select(n => (string)n!));
        Assert.Empty(NotebookDocument.ToMultiline(""));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"cells":[],"metadata":{},"nbformat":3,"nbformat_minor":0}""", "nbformat 3")]
    [InlineData("""{"metadata":{},"nbformat":4,"nbformat_minor":5}""", "no 'cells'")]
    public void RefusesWhatIsNotNbformat4(string json, string expected)
    {
        var e = Assert.Throws<NotebookFormatException>(() => NotebookDocument.Parse(json, "bad.ipynb"));
        Assert.Contains("bad.ipynb", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
