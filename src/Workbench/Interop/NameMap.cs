using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// Applies a layout's rows (<see cref="TensorMap"/>) between a PyTorch state dict and one of our modules: checks the
/// whole dict first (unknown keys, missing keys, shape mismatches, constants that differ: all listed by name in one
/// <see cref="LayoutMismatchException"/>), then copies; and the reverse, our module to their state dict.
/// </summary>
public static class NameMap
{
    /// <summary>Keys of ours no row may leave unclaimed (a table that forgets one is a bug in the table), except
    /// buffers the layout declares fixed (e.g. our FIR kernels, which are not parameters of the config).</summary>
    static List<string> OurKeys(nn.Module module, Func<string, bool>? fixedOurs) =>
        module.state_dict().Keys.Where(k => fixedOurs is null || !fixedOurs(k)).ToList();

    /// <summary>
    /// Loads <paramref name="theirs"/> into <paramref name="module"/> through <paramref name="rows"/>.
    /// <paramref name="source"/> names the file (and the sub-dict) in messages; <paramref name="config"/> describes
    /// the config inferred from the file.
    /// </summary>
    public static void Load(IReadOnlyList<TensorMap> rows, IReadOnlyDictionary<string, Tensor> theirs, nn.Module module, string source, string config,
        Func<string, bool>? fixedOurs = null)
    {
        using var scope = NewDisposeScope();
        CheckComplete(rows, module, fixedOurs);
        var problems = new List<string>();
        var claimed = new HashSet<string>(rows.SelectMany(r => r.Theirs));
        foreach (var key in theirs.Keys.Where(k => !claimed.Contains(k)))
            problems.Add($"unknown key {key} {Shape(theirs[key].shape)}");
        foreach (var row in rows)
            for (int i = 0; i < row.Theirs.Length; i++)
            {
                if (!theirs.TryGetValue(row.Theirs[i], out var t)) problems.Add($"missing key {row.Theirs[i]} (expected {Shape(row.TheirShapes[i])})");
                else if (!t.shape.SequenceEqual(row.TheirShapes[i]))
                    problems.Add($"shape mismatch {row.Theirs[i]}: {Shape(t.shape)} in the file, {Shape(row.TheirShapes[i])} for this config");
                else if (row.Ours is null)
                {
                    var expected = row.ToTheirs(null)[0];
                    if (!t.to(expected.dtype).allclose(expected, rtol: 1e-6, atol: 1e-7))
                        problems.Add($"{row.Theirs[i]} differs from the constant this layout computes with ({row.Conversion})");
                }
            }
        if (problems.Count > 0)
            throw new LayoutMismatchException(
                $"{source}: {problems.Count} problem(s) reading it as {config}:\n  " + string.Join("\n  ", problems));
        var ours = module.state_dict();
        using var _ = no_grad();
        foreach (var row in rows.Where(r => r.Ours is not null))
        {
            var target = ours[row.Ours!];
            var value = row.ToOurs(row.Theirs.Select(k => theirs[k].to(target.dtype)).ToArray());
            if (value.numel() != target.numel())
                throw new LayoutMismatchException($"{source}: {string.Join(", ", row.Theirs)} gives {value.numel()} values for {row.Ours} {Shape(target.shape)}");
            target.copy_(value.reshape(target.shape));
        }
    }

    /// <summary>Our module's tensors in their layout, in the rows' order (float32 as stored; constants included).</summary>
    public static PyDict Save(IReadOnlyList<TensorMap> rows, nn.Module module, Func<string, bool>? fixedOurs = null)
    {
        CheckComplete(rows, module, fixedOurs);
        var ours = module.state_dict();
        var dict = new PyDict { Ordered = true };
        using var _ = no_grad();
        foreach (var row in rows)
        {
            var values = row.ToTheirs(row.Ours is null ? null : ours[row.Ours]);
            for (int i = 0; i < row.Theirs.Length; i++)
            {
                if (!values[i].shape.SequenceEqual(row.TheirShapes[i]))
                    throw new InvalidOperationException($"NameMap: {row.Theirs[i]} came out {Shape(values[i].shape)}, expected {Shape(row.TheirShapes[i])}");
                dict.Set(row.Theirs[i], values[i].detach().cpu().contiguous());
            }
        }
        return dict;
    }

    static void CheckComplete(IReadOnlyList<TensorMap> rows, nn.Module module, Func<string, bool>? fixedOurs)
    {
        var mapped = new HashSet<string>(rows.Where(r => r.Ours is not null).Select(r => r.Ours!));
        var keys = OurKeys(module, fixedOurs);
        var left = keys.Where(k => !mapped.Contains(k)).ToList();
        var unknown = mapped.Where(k => !keys.Contains(k)).ToList();
        if (left.Count > 0 || unknown.Count > 0)
            throw new InvalidOperationException(
                $"NameMap: the table does not cover the module: unmapped {string.Join(", ", left)}; not in the module {string.Join(", ", unknown)}");
    }

    internal static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";
}
