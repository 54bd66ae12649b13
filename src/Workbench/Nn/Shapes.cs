using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// One-line shape assertions naming the tensor: <c>Shapes.Expect(z, "MappingNetwork: z", "N", ZDim)</c> throws
/// "MappingNetwork: z must be [N, 512], got [4, 3]" unless z has rank 2 and 512 columns. Each dimension is an exact
/// size (an integer) or a name (a string: any size).
/// </summary>
public static class Shapes
{
    /// <summary>A tensor's shape as "[a, b, c]".</summary>
    public static string Of(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="x"/> matches <paramref name="dims"/>.</summary>
    public static void Expect(Tensor x, string what, params object[] dims)
    {
        bool ok = x.dim() == dims.Length;
        for (int i = 0; ok && i < dims.Length; i++)
            ok = dims[i] switch
            {
                string => true,
                int n => x.shape[i] == n,
                long n => x.shape[i] == n,
                _ => throw new ArgumentException($"Shapes.Expect: dimension {i} is a {dims[i].GetType().Name}; give a size or a name"),
            };
        if (!ok) throw new ArgumentException($"{what} must be [{string.Join(", ", dims)}], got {Of(x)}");
    }
}
