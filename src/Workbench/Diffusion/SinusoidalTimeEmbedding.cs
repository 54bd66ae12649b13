using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Diffusion;

/// <summary>
/// DDPM's timestep embedding (Ho et al. 2020, App. B: "diffusion time t is specified by adding the Transformer
/// sinusoidal position embedding into each residual block"; Vaswani et al. 2017 §3.5): for t [B] and width d,
/// [sin(t·ω_0) … sin(t·ω_{d/2−1}), cos(t·ω_0) … cos(t·ω_{d/2−1})] with ω_i = 10000^{−i/(d/2−1)}, followed by the
/// authors' MLP Linear(d→4d)–SiLU–Linear(4d→4d). <see cref="Sinusoids"/> is the fixed part.
/// </summary>
public sealed class SinusoidalTimeEmbedding : nn.Module<Tensor, Tensor>
{
    readonly Linear dense0;
    readonly Linear dense1;

    /// <param name="dim">d, the sinusoid width (even); the output width is <see cref="OutputDim"/> = 4d.</param>
    public SinusoidalTimeEmbedding(int dim) : base(nameof(SinusoidalTimeEmbedding))
    {
        if (dim < 4 || dim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "the embedding width must be even and at least 4");
        Dim = dim;
        dense0 = nn.Linear(dim, 4 * dim);
        dense1 = nn.Linear(4 * dim, 4 * dim);
        RegisterComponents();
    }

    public int Dim { get; }
    public int OutputDim => 4 * Dim;

    /// <summary>The fixed sinusoids [B, d] for timesteps t [B] (any numeric dtype), float32.</summary>
    public static Tensor Sinusoids(Tensor t, int dim)
    {
        using var scope = NewDisposeScope();
        int half = dim / 2;
        var freqs = exp(arange(half, dtype: ScalarType.Float32, device: t.device) * (-Math.Log(10000) / (half - 1)));
        var args = t.to(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);
        return cat(new[] { sin(args), cos(args) }, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The embedding [B, 4d] of timesteps t [B].</summary>
    public override Tensor forward(Tensor t)
    {
        using var scope = NewDisposeScope();
        var e = Sinusoids(t, Dim).to(dense0.weight!.dtype);
        return dense1.call(nn.functional.silu(dense0.call(e))).MoveToOuterDisposeScope();
    }
}
