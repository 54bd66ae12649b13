using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.StyleGan2;

/// <summary>
/// Per-pixel noise with a learned per-layer strength (StyleGAN Section 2; StyleGAN2 Fig. 2c: the "B" box, added
/// outside the style block). One noise image [N, 1, H, W] is shared by all channels and scaled by the scalar
/// <c>strength</c>, initialised to 0 so a new network starts noise-free. A fixed noise image (buffer
/// <c>noise_const</c>) serves <see cref="NoiseMode.Const"/>.
/// </summary>
public sealed class NoiseInjection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter strength;
    private readonly Tensor noise_const;

    public NoiseInjection(int resolution) : base(nameof(NoiseInjection))
    {
        Resolution = resolution;
        strength = nn.Parameter(zeros(1));
        noise_const = randn(resolution, resolution);
        register_buffer("noise_const", noise_const);
        RegisterComponents();
    }

    public int Resolution { get; }
    public Parameter Strength => strength;

    /// <summary>The noise [N or 1, 1, R, R] that <see cref="NoiseMode.Given"/> injects (not owned: the caller disposes it).</summary>
    public Tensor? Given { get; set; }

    public override Tensor forward(Tensor x) => Inject(x, NoiseMode.Random);

    public Tensor Inject(Tensor x, NoiseMode mode)
    {
        if (mode == NoiseMode.None) return x.alias();
        using var scope = NewDisposeScope();
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        var noise = mode switch
        {
            NoiseMode.Random => randn(new long[] { n, 1, h, w }, dtype: x.dtype, device: x.device),
            NoiseMode.Given => Given ?? throw new InvalidOperationException($"NoiseInjection ({Resolution}x{Resolution}): NoiseMode.Given without a given noise image"),
            _ => noise_const.to(x.dtype).to(x.device)[TensorIndex.None, TensorIndex.None],
        };
        return (x + noise * strength).MoveToOuterDisposeScope();
    }
}
