using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// One row of a name map between a PyTorch layout and our module: their key(s), our state-dict key, the shapes of
/// their tensors, and the conversion both ways. Most rows are one key to one key with a reshape (e.g. a
/// [1, O, I, k, k] weight to [O, I, k, k]); a few convert values (the reason is <see cref="Conversion"/>, which the
/// mismatch messages and papers/interop.md quote). <see cref="Ours"/> null: a constant of their layout that we do
/// not store (a blur kernel, an LU mask), checked on import and written on export.
/// </summary>
/// <param name="Theirs">their state-dict keys (one, except where several tensors make one of ours).</param>
/// <param name="Ours">our state-dict key, or null for a constant of their layout.</param>
/// <param name="TheirShapes">the shape each of their tensors must have for the config.</param>
/// <param name="ToOurs">their tensors (in <see cref="Theirs"/>' order) to ours (any shape with our element count).</param>
/// <param name="ToTheirs">our tensor (null for a constant) to theirs.</param>
/// <param name="Conversion">"copy", or what is converted and why.</param>
public sealed record TensorMap(string[] Theirs, string? Ours, long[][] TheirShapes, Func<Tensor[], Tensor> ToOurs,
    Func<Tensor?, Tensor[]> ToTheirs, string Conversion)
{
    /// <summary>A plain copy, reshaped between their shape and ours.</summary>
    public static TensorMap Copy(string theirs, string ours, long[] theirShape) =>
        new(new[] { theirs }, ours, new[] { theirShape }, t => t[0].clone(), o => new[] { o!.reshape(theirShape).clone() }, "copy");

    /// <summary>A value-converting one-to-one row.</summary>
    public static TensorMap Convert(string theirs, string ours, long[] theirShape, Func<Tensor, Tensor> toOurs, Func<Tensor, Tensor> toTheirs, string conversion) =>
        new(new[] { theirs }, ours, new[] { theirShape }, t => toOurs(t[0]), o => new[] { toTheirs(o!).reshape(theirShape) }, conversion);

    /// <summary>A constant of their layout: must equal <paramref name="value"/> on import (else the layout is not
    /// one we compute), written as it on export.</summary>
    public static TensorMap Constant(string theirs, Func<Tensor> value, string conversion)
    {
        var shape = Probe(value);
        return new(new[] { theirs }, null, new[] { shape }, t => t[0], _ => new[] { value() }, conversion);
    }

    static long[] Probe(Func<Tensor> value)
    {
        using var t = value();
        return t.shape;
    }
}
