using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

public class MarkdownTests
{
    [Theory]
    [InlineData("# Glow", "<h1>Glow</h1>")]
    [InlineData("### Step 3 ###", "<h3>Step 3</h3>")]
    [InlineData("Some *em* and **strong** and _also em_ and __strong__.",
        "<p>Some <em>em</em> and <strong>strong</strong> and <em>also em</em> and <strong>strong</strong>.</p>")]
    [InlineData("Call `a * b` now", "<p>Call <code>a * b</code> now</p>")]
    [InlineData("See [the paper](https://arxiv.org/abs/1807.03039).", "<p>See <a href=\"https://arxiv.org/abs/1807.03039\">the paper</a>.</p>")]
    [InlineData("![grid](faces.png)", "<p><img src=\"faces.png\" alt=\"grid\"></p>")]
    [InlineData("Density $p_x(x) = p_z(f(x)) \\cdot |det J|$ here", "<p>Density $p_x(x) = p_z(f(x)) \\cdot |det J|$ here</p>")]
    [InlineData("a < b & c", "<p>a &lt; b &amp; c</p>")]
    [InlineData("snake_case_name stays", "<p>snake_case_name stays</p>")]
    [InlineData("---", "<hr>")]
    [InlineData("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>")]
    public void RendersInlineAndSimpleBlocks(string markdown, string html) =>
        Assert.Equal(html, Markdown.ToHtml(markdown).Trim());

    [Fact]
    public void RendersListsNestedByIndentation()
    {
        var html = Markdown.ToHtml("- one\n- two\n  - two.a\n  - two.b\n- three\n\n1. first\n2. second");
        Assert.Equal(
            "<ul>\n<li>one</li>\n<li>two<ul>\n<li>two.a</li>\n<li>two.b</li>\n</ul>\n</li>\n<li>three</li>\n</ul>\n<ol>\n<li>first</li>\n<li>second</li>\n</ol>",
            html.Trim());
    }

    [Fact]
    public void FencedCodeAndDisplayMathAreKeptVerbatim()
    {
        var html = Markdown.ToHtml("```csharp\nvar x = a*b*c; // <tag>\n```\n\n$$\n\\log p(x) = \\log p(z) + \\sum_i \\log |det J_i|\n$$");
        Assert.Contains("<pre><code class=\"language-csharp\">var x = a*b*c; // &lt;tag&gt;</code></pre>", html);
        Assert.Contains("<div class=\"math\">$$\n\\log p(x) = \\log p(z) + \\sum_i \\log |det J_i|\n$$</div>", html);
        Assert.DoesNotContain("<em>", html);
    }

    [Fact]
    public void RendersPipeTables()
    {
        var html = Markdown.ToHtml("| model | bits/dim |\n|---|---:|\n| Glow | 3.35 |");
        Assert.Equal("<table>\n<thead><tr><th>model</th><th>bits/dim</th></tr></thead>\n<tbody>\n<tr><td>Glow</td><td>3.35</td></tr>\n</tbody>\n</table>",
            html.Trim());
    }

    [Fact]
    public void ParagraphLinesJoin()
    {
        Assert.Equal("<p>one\ntwo</p>\n<p>three</p>", Markdown.ToHtml("one\ntwo\n\nthree").Trim());
    }
}
