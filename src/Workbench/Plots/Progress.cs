using System.Globalization;
using System.Net;

namespace Workbench.Plots;

/// <summary>
/// How far a loop has got, for a notebook: an HTML <c>&lt;progress&gt;</c> bar with the text
/// <c>label 120/500 (24%)</c>, or that text alone as text/plain. Display it once and update it:
/// <c>var bar = display(new Progress(0, steps, "training")); … bar.Update(new Progress(step, steps, "training"));</c>.
/// </summary>
[TypeFormatterSource(typeof(ProgressFormatterSource), PreferredMimeTypes = new[] { "text/html" })]
public sealed record Progress
{
    /// <summary>Progress of <paramref name="done"/> out of <paramref name="total"/> (0 ≤ done ≤ total, total &gt; 0).</summary>
    public Progress(long done, long total, string? label = null)
    {
        if (total <= 0) throw new ArgumentOutOfRangeException(nameof(total), total, "total must be positive");
        if (done < 0 || done > total) throw new ArgumentOutOfRangeException(nameof(done), done, $"done must be in [0, {total}]");
        Done = done;
        Total = total;
        Label = label;
    }

    public long Done { get; }
    public long Total { get; }
    public string? Label { get; }

    /// <summary>Done / Total, in [0, 1].</summary>
    public double Fraction => (double)Done / Total;

    /// <summary>The whole percentage done, rounded down (so 100 only when finished).</summary>
    public int Percent => (int)((decimal)Done * 100 / Total);

    /// <summary>An HTML progress bar followed by <see cref="ToString"/>.</summary>
    public string ToHtml() => string.Create(CultureInfo.InvariantCulture,
        $"<div class=\"workbench-progress\"><progress value=\"{Done}\" max=\"{Total}\"></progress> <span>{WebUtility.HtmlEncode(ToString())}</span></div>");

    /// <summary><c>label done/total (percent%)</c>, without the label when there is none.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(string.IsNullOrEmpty(Label) ? "" : Label + " ")}{Done}/{Total} ({Percent}%)");
}

/// <summary>Formatters for <see cref="Progress"/>: text/html (<see cref="Progress.ToHtml"/>) and text/plain.</summary>
public sealed class ProgressFormatterSource
{
    public IEnumerable<object> CreateTypeFormatters() => new object[]
    {
        new MimeFormatter<Progress>("text/html", (p, w) => w.Write(p.ToHtml())),
        new MimeFormatter<Progress>("text/plain", (p, w) => w.Write(p.ToString())),
    };
}
