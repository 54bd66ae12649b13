using System.Text;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Workbench.Notebooks;

/// <summary>
/// Turns the kernel events of one cell into its nbformat outputs, as a notebook front end shows them: console
/// output as streams (consecutive writes joined), each display as <c>display_data</c> that a later update with
/// the same display id replaces in place, the trailing value as <c>execute_result</c>, and errors.
/// </summary>
internal sealed class CellOutputs(InteractiveDocumentElement cell)
{
    readonly Dictionary<string, int> _displays = new(StringComparer.Ordinal);

    public void Add(KernelEvent e)
    {
        switch (e)
        {
            case StandardOutputValueProduced o:
                Stream("stdout", Text(o.FormattedValues));
                break;
            case StandardErrorValueProduced o:
                Stream("stderr", Text(o.FormattedValues));
                break;
            case DisplayedValueProduced d:
                Display(d.ValueId, d.FormattedValues);
                break;
            case DisplayedValueUpdated d:
                // An update whose id was never displayed (the kernel's own display(x).Update(y) can publish one)
                // still gets one slot of its own, replaced by its later updates.
                Display(d.ValueId, d.FormattedValues);
                break;
            case ReturnValueProduced r when Data(r.FormattedValues) is { Count: > 0 } data:
                var result = new ReturnValueElement { ExecutionOrder = cell.ExecutionOrder };
                foreach (var (k, v) in data) result.Data[k] = v;
                cell.Outputs.Add(result);
                break;
            case ErrorProduced err:
                cell.Outputs.Add(new ErrorElement(err.Message, "Error", []));
                break;
        }
    }

    public void Failed(CommandFailed failed)
    {
        var name = failed.Exception?.GetType().FullName ?? "Error";
        var trace = failed.Exception?.StackTrace?.Split('\n').Select(l => l.TrimEnd('\r')).ToArray() ?? [];
        cell.Outputs.Add(new ErrorElement(failed.Exception?.Message ?? failed.Message, name, trace));
    }

    /// <summary>The cell did not finish: it timed out or the run was interrupted.</summary>
    public void Stopped(string why) => cell.Outputs.Add(new ErrorElement(why, "CellStopped", []));

    void Stream(string name, string text)
    {
        if (text.Length == 0) return;
        if (cell.Outputs.Count > 0 && cell.Outputs[^1] is TextElement last && last.Name == name)
            cell.Outputs[^1] = new TextElement(last.Text + text, name);
        else
            cell.Outputs.Add(new TextElement(text, name));
    }

    void Display(string? id, IReadOnlyCollection<FormattedValue> values)
    {
        var data = Data(values);
        if (data.Count == 0) return;
        var element = new DisplayElement(data);
        if (id is not null && _displays.TryGetValue(id, out var index))
        {
            cell.Outputs[index] = element;
            return;
        }
        if (id is not null) _displays[id] = cell.Outputs.Count;
        cell.Outputs.Add(element);
    }

    static Dictionary<string, object> Data(IReadOnlyCollection<FormattedValue> values)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var v in values)
            if (!v.SuppressDisplay) data[v.MimeType] = v.Value;
        return data;
    }

    static string Text(IReadOnlyCollection<FormattedValue> values)
    {
        var sb = new StringBuilder();
        foreach (var v in values.Where(v => v.MimeType == PlainTextFormatter.MimeType)) sb.Append(v.Value);
        return sb.ToString();
    }
}
