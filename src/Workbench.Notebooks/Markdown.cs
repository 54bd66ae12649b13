using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Workbench.Notebooks;

/// <summary>
/// The part of Markdown our notebooks use, to HTML, for the report: headings, paragraphs, emphasis, inline
/// and fenced code, lists (nested by indentation), block quotes, rules, pipe tables, links and images.
/// Math (<c>$…$</c>, <c>$$…$$</c>) is passed through untouched, so a math renderer added to the page can
/// typeset it and the source reads right without one. Raw HTML is shown as text, not interpreted.
/// </summary>
public static partial class Markdown
{
    public static string ToHtml(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var html = new StringBuilder();
        RenderBlocks(lines, html);
        return html.ToString();
    }

    [GeneratedRegex(@"^(?<indent> *)(?<marker>[-*+]|\d{1,9}[.)])\s+(?<text>.*)$")]
    private static partial Regex ListItem();

    [GeneratedRegex(@"^(#{1,6})\s+(.*?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^ {0,3}([-*_])( *\1){2,} *$")]
    private static partial Regex Rule();

    [GeneratedRegex(@"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")]
    private static partial Regex TableDelimiter();

    static void RenderBlocks(string[] lines, StringBuilder html)
    {
        var paragraph = new List<string>();
        void FlushParagraph()
        {
            if (paragraph.Count == 0) return;
            html.Append("<p>").Append(Inline(string.Join("\n", paragraph))).Append("</p>\n");
            paragraph.Clear();
        }

        int i = 0;
        while (i < lines.Length)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (trimmed.Length == 0) { FlushParagraph(); i++; continue; }

            if (trimmed.StartsWith("```") || trimmed.StartsWith("~~~"))
            {
                FlushParagraph();
                var fence = trimmed[..3];
                var lang = trimmed[3..].Trim();
                var code = new List<string>();
                for (i++; i < lines.Length && !lines[i].Trim().StartsWith(fence); i++) code.Add(lines[i]);
                i++; // the closing fence
                html.Append("<pre><code").Append(lang.Length > 0 ? $" class=\"language-{Escape(lang)}\"" : "").Append('>')
                    .Append(Escape(string.Join("\n", code))).Append("</code></pre>\n");
                continue;
            }
            if (trimmed.StartsWith("$$"))
            {
                FlushParagraph();
                var math = new List<string> { line };
                bool closed = trimmed.Length > 2 && trimmed.EndsWith("$$");
                for (i++; !closed && i < lines.Length; i++)
                {
                    math.Add(lines[i]);
                    closed = lines[i].TrimEnd().EndsWith("$$");
                }
                html.Append("<div class=\"math\">").Append(Escape(string.Join("\n", math))).Append("</div>\n");
                continue;
            }
            if (Heading().Match(trimmed) is { Success: true } h)
            {
                FlushParagraph();
                int level = h.Groups[1].Length;
                html.Append($"<h{level}>").Append(Inline(h.Groups[2].Value)).Append($"</h{level}>\n");
                i++;
                continue;
            }
            if (Rule().IsMatch(line))
            {
                FlushParagraph();
                html.Append("<hr>\n");
                i++;
                continue;
            }
            if (trimmed.StartsWith('>'))
            {
                FlushParagraph();
                var quoted = new List<string>();
                for (; i < lines.Length && lines[i].TrimStart().StartsWith('>'); i++)
                {
                    var q = lines[i].TrimStart()[1..];
                    quoted.Add(q.StartsWith(' ') ? q[1..] : q);
                }
                html.Append("<blockquote>\n");
                RenderBlocks(quoted.ToArray(), html);
                html.Append("</blockquote>\n");
                continue;
            }
            if (trimmed.StartsWith('|') && i + 1 < lines.Length && TableDelimiter().IsMatch(lines[i + 1]))
            {
                FlushParagraph();
                html.Append("<table>\n<thead><tr>");
                foreach (var cell in Row(trimmed)) html.Append("<th>").Append(Inline(cell)).Append("</th>");
                html.Append("</tr></thead>\n<tbody>\n");
                for (i += 2; i < lines.Length && lines[i].Trim().StartsWith('|'); i++)
                {
                    html.Append("<tr>");
                    foreach (var cell in Row(lines[i].Trim())) html.Append("<td>").Append(Inline(cell)).Append("</td>");
                    html.Append("</tr>\n");
                }
                html.Append("</tbody>\n</table>\n");
                continue;
            }
            if (ListItem().IsMatch(line) && (paragraph.Count == 0 || !char.IsDigit(trimmed[0])))
            {
                FlushParagraph();
                i = RenderList(lines, i, html);
                continue;
            }
            paragraph.Add(trimmed);
            i++;
        }
        FlushParagraph();
    }

    static IEnumerable<string> Row(string line)
    {
        var inner = line.Trim().Trim('|');
        return inner.Split('|').Select(c => c.Trim());
    }

    /// <summary>A list starting at <paramref name="start"/>; items indented deeper nest. Returns the next line.</summary>
    static int RenderList(string[] lines, int start, StringBuilder html)
    {
        var first = ListItem().Match(lines[start]);
        int indent = first.Groups["indent"].Length;
        bool ordered = char.IsDigit(first.Groups["marker"].Value[0]);
        html.Append(ordered ? "<ol>\n" : "<ul>\n");
        int i = start;
        while (i < lines.Length)
        {
            var m = ListItem().Match(lines[i]);
            if (!m.Success || m.Groups["indent"].Length != indent || char.IsDigit(m.Groups["marker"].Value[0]) != ordered) break;
            var text = new List<string> { m.Groups["text"].Value };
            html.Append("<li>");
            for (i++; i < lines.Length; i++)
            {
                var next = lines[i];
                if (next.Trim().Length == 0) break;
                var nm = ListItem().Match(next);
                if (nm.Success && nm.Groups["indent"].Length <= indent) break;
                if (nm.Success)
                {
                    // A deeper item: its own list, inside this item.
                    html.Append(Inline(string.Join("\n", text)));
                    text.Clear();
                    i = RenderList(lines, i, html) - 1;
                    continue;
                }
                text.Add(next.Trim());
            }
            html.Append(Inline(string.Join("\n", text))).Append("</li>\n");
            // A blank line followed by another item at this level continues the list.
            if (i < lines.Length && lines[i].Trim().Length == 0 && i + 1 < lines.Length
                && ListItem().Match(lines[i + 1]) is { Success: true } after && after.Groups["indent"].Length == indent
                && char.IsDigit(after.Groups["marker"].Value[0]) == ordered)
                i++;
        }
        html.Append(ordered ? "</ol>\n" : "</ul>\n");
        return i;
    }

    [GeneratedRegex(@"(?<code>`+)(?<c>.+?)\k<code>|\$\$(?<dm>.+?)\$\$|(?<![\\\w$])\$(?<m>[^\s$](?:[^$]*[^\s$])?)\$|!\[(?<alt>[^\]]*)\]\((?<src>[^)\s]+)\)|\[(?<text>[^\]]+)\]\((?<href>[^)\s]+)\)|\\(?<esc>[\\`*_{}\[\]()#+\-.!$|])", RegexOptions.Singleline)]
    private static partial Regex InlineToken();

    [GeneratedRegex(@"\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)")]
    private static partial Regex Strong();

    [GeneratedRegex(@"\*(?=\S)(.+?)(?<=\S)\*|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")]
    private static partial Regex Emphasis();

    /// <summary>Inline markup. Code, math, links and escapes are cut out first (as placeholders) so that
    /// emphasis never reaches into them; the rest is HTML-escaped, then emphasised.</summary>
    public static string Inline(string text)
    {
        var pieces = new List<string>();
        string Hold(string html)
        {
            pieces.Add(html);
            return $"\u0001{pieces.Count - 1}\u0002";
        }
        var held = InlineToken().Replace(text, m =>
        {
            if (m.Groups["c"].Success) return Hold($"<code>{Escape(m.Groups["c"].Value.Trim())}</code>");
            if (m.Groups["dm"].Success || m.Groups["m"].Success) return Hold(Escape(m.Value));
            if (m.Groups["src"].Success)
                return Hold($"<img src=\"{Escape(m.Groups["src"].Value)}\" alt=\"{Escape(m.Groups["alt"].Value)}\">");
            if (m.Groups["href"].Success)
                return Hold($"<a href=\"{Escape(m.Groups["href"].Value)}\">{Inline(m.Groups["text"].Value)}</a>");
            return Hold(Escape(m.Groups["esc"].Value));
        });
        var html = Escape(held);
        html = Strong().Replace(html, m => $"<strong>{(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)}</strong>");
        html = Emphasis().Replace(html, m => $"<em>{(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)}</em>");
        return Regex.Replace(html, "\u0001(\\d+)\u0002", m => pieces[int.Parse(m.Groups[1].Value)]);
    }

    static string Escape(string s) => WebUtility.HtmlEncode(s);
}
