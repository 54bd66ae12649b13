namespace Workbench.Data;

/// <summary>
/// The generative factors of one procedural face (<see cref="ProceduralFaces"/>). Every factor is drawn
/// independently and uniformly from its range by <see cref="Sample"/>, so a model's latent traversals and
/// attribute directions can be measured against ground truth.
/// <list type="table">
/// <item><term>Expression</term><description>[-1, 1]: mouth curvature, -1 frown, 0 straight, +1 smile.</description></item>
/// <item><term>EyeSize</term><description>[0, 1]: eye width, small to large.</description></item>
/// <item><term>EyeOpenness</term><description>[0, 1]: eye height relative to width, nearly shut to wide open.</description></item>
/// <item><term>BrowAngle</term><description>[-1, 1]: -1 inner ends down (angry), +1 inner ends up (worried); ±25°.</description></item>
/// <item><term>FaceShape</term><description>[0, 1]: head height/width, 0 round (1.0) to 1 long (≈1.45).</description></item>
/// <item><term>SkinTone</term><description>[0, 1]: light to dark along a palette of skin tones.</description></item>
/// <item><term>HairColor</term><description>[0, 1]: black, brown, auburn, blonde, to platinum.</description></item>
/// <item><term>Background</term><description>[0, 1]: background hue from red (0°) through green to violet (270°), pastel.</description></item>
/// <item><term>PoseX</term><description>[-1, 1]: horizontal shift of the head, ±5% of the image width.</description></item>
/// <item><term>PoseY</term><description>[-1, 1]: vertical shift of the head, ±4% of the image height.</description></item>
/// <item><term>Rotation</term><description>[-1, 1]: in-plane head tilt, ±12°.</description></item>
/// </list>
/// </summary>
public sealed record FaceFactors(
    double Expression,
    double EyeSize,
    double EyeOpenness,
    double BrowAngle,
    double FaceShape,
    double SkinTone,
    double HairColor,
    double Background,
    double PoseX,
    double PoseY,
    double Rotation)
{
    /// <summary>The factor names, in the order of <see cref="ToArray"/> and of the dataset's factor columns.</summary>
    public static readonly IReadOnlyList<string> Names = new[]
    {
        "expression", "eye_size", "eye_openness", "brow_angle", "face_shape", "skin_tone", "hair_color",
        "background", "pose_x", "pose_y", "rotation",
    };

    static readonly (double Low, double High)[] Ranges =
    {
        (-1, 1), (0, 1), (0, 1), (-1, 1), (0, 1), (0, 1), (0, 1), (0, 1), (-1, 1), (-1, 1), (-1, 1),
    };

    /// <summary>Number of factors.</summary>
    public static int Count => Names.Count;

    /// <summary>The neutral face: every factor at the middle of its range.</summary>
    public static FaceFactors Middle { get; } = FromArray(Ranges.Select(r => (r.Low + r.High) / 2).ToArray());

    /// <summary>The column of <paramref name="name"/> (snake_case as in <see cref="Names"/>, or the property name).</summary>
    public static int IndexOf(string name)
    {
        string key = name.Replace("_", "").Replace("colour", "color", StringComparison.OrdinalIgnoreCase);
        for (int i = 0; i < Names.Count; i++)
            if (string.Equals(Names[i].Replace("_", ""), key, StringComparison.OrdinalIgnoreCase))
                return i;
        throw new ArgumentException($"Unknown face factor '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>The range [Low, High] of the factor <paramref name="name"/>.</summary>
    public static (double Low, double High) RangeOf(string name) => Ranges[IndexOf(name)];

    /// <summary>Draws every factor independently and uniformly from its range (11 draws, in <see cref="Names"/> order).</summary>
    public static FaceFactors Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var v = new double[Ranges.Length];
        for (int i = 0; i < v.Length; i++)
            v[i] = Ranges[i].Low + (Ranges[i].High - Ranges[i].Low) * rng.NextDouble();
        return FromArray(v);
    }

    /// <summary>The factors as an array in <see cref="Names"/> order.</summary>
    public double[] ToArray() => new[]
    {
        Expression, EyeSize, EyeOpenness, BrowAngle, FaceShape, SkinTone, HairColor, Background, PoseX, PoseY, Rotation,
    };

    /// <summary>Factors from an array in <see cref="Names"/> order.</summary>
    public static FaceFactors FromArray(IReadOnlyList<double> v)
    {
        if (v.Count != Ranges.Length)
            throw new ArgumentException($"Expected {Ranges.Length} face factors ({string.Join(", ", Names)}), got {v.Count}.", nameof(v));
        return new FaceFactors(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
    }

    /// <summary>The value of the factor <paramref name="name"/>.</summary>
    public double Get(string name) => ToArray()[IndexOf(name)];

    /// <summary>A copy with the factor <paramref name="name"/> set to <paramref name="value"/>, all others kept.</summary>
    public FaceFactors With(string name, double value)
    {
        var v = ToArray();
        v[IndexOf(name)] = value;
        return FromArray(v);
    }

    /// <summary>Throws if a factor lies outside its range (or is NaN), naming it.</summary>
    public void Validate()
    {
        var v = ToArray();
        for (int i = 0; i < v.Length; i++)
            if (!(v[i] >= Ranges[i].Low && v[i] <= Ranges[i].High))
                throw new ArgumentOutOfRangeException(Names[i], v[i],
                    $"Face factor {Names[i]} = {v[i]} lies outside its range [{Ranges[i].Low}, {Ranges[i].High}].");
    }
}
