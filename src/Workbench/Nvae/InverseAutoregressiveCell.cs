using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// A volume-preserving inverse autoregressive flow cell (Kingma et al. 2016), as NVAE optionally applies to its
/// approximate posterior (Vahdat &amp; Kautz 2020, Section 3.2 "normalizing flows" and NVAE's code: shift only):
/// z' = z − μ(z_&lt;, h), where μ is computed by <see cref="AutoregressiveConv2d"/>s (mask A, then mask B), so
/// ∂μ_i/∂z_j = 0 unless j comes before i; h is the encoder's context at that group (enters through a 1×1 conv).
/// The Jacobian is unit triangular: log |det ∂z'/∂z| = 0, so log q(z') = log q₀(z) and the KL has no closed form
/// (the model then uses the one-sample estimate log q − log p).
/// </summary>
public sealed class InverseAutoregressiveCell : nn.Module<Tensor, Tensor, Tensor>
{
    readonly AutoregressiveConv2d first;
    readonly Conv2d context;
    readonly AutoregressiveConv2d hidden;
    readonly AutoregressiveConv2d shift;

    /// <param name="latentChannels">channels of the latent group.</param>
    /// <param name="contextChannels">channels of the encoder context h.</param>
    /// <param name="expansion">hidden width = expansion × latentChannels.</param>
    /// <param name="mirror">reverse the autoregressive order (alternate it between stacked cells).</param>
    public InverseAutoregressiveCell(long latentChannels, long contextChannels, int expansion = 6, bool mirror = false)
        : base(nameof(InverseAutoregressiveCell))
    {
        long h = latentChannels * expansion;
        first = new AutoregressiveConv2d(latentChannels, h, latentChannels, 3, strict: true, mirror: mirror);
        context = nn.Conv2d(contextChannels, h, 1);
        hidden = new AutoregressiveConv2d(h, h, latentChannels, 3, strict: false, mirror: mirror);
        shift = new AutoregressiveConv2d(h, latentChannels, latentChannels, 3, strict: false, mirror: mirror);
        RegisterComponents();
        // start as the identity: μ = 0 until training moves it
        using (no_grad()) { shift.Conv.weight!.zero_(); shift.Conv.bias!.zero_(); }
    }

    /// <summary>μ(z, h), the autoregressive shift.</summary>
    public Tensor Shift(Tensor z, Tensor h)
    {
        using var scope = NewDisposeScope();
        var a = nn.functional.elu(first.call(z) + context.call(h), 1.0, false);
        a = nn.functional.elu(hidden.call(a), 1.0, false);
        return shift.call(a).MoveToOuterDisposeScope();
    }

    /// <summary>z' = z − μ(z, h); log |det| = 0.</summary>
    public override Tensor forward(Tensor z, Tensor h)
    {
        using var scope = NewDisposeScope();
        return (z - Shift(z, h)).MoveToOuterDisposeScope();
    }
}
