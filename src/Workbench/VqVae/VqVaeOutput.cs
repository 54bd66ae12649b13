using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// One pass of <see cref="VqVae"/> over images x scaled to [−1, 1].
/// </summary>
/// <param name="Reconstruction">the decoder's mean μ(z_q(x)) [B, C, H, W] on the [−1, 1] scale.</param>
/// <param name="Levels">the quantizer's output per code map, top first.</param>
/// <param name="ReconstructionLoss">‖x − μ‖² averaged over elements (Eq. 3's first term with a unit-variance Gaussian
/// decoder, up to constants), the term the encoder and decoder train on.</param>
/// <param name="DecoderNll">−log p(x | z_q(x)) per image [B] in nats under the discretized Gaussian decoder
/// (<see cref="VqVae.DecoderLogScale"/>), computed on sg[μ] so it trains only the scale.</param>
/// <param name="Loss">the training loss: reconstruction + Σ_levels (codebook loss under the loss update) + β · commitment
/// + the decoder's NLL per dimension (for the scale).</param>
public sealed record VqVaeOutput(Tensor Reconstruction, IReadOnlyList<QuantizerOutput> Levels, Tensor ReconstructionLoss,
    Tensor DecoderNll, Tensor Loss)
{
    /// <summary>Σ over levels of the codebook loss.</summary>
    public Tensor CodebookLoss => Levels.Select(l => l.CodebookLoss).Aggregate((a, b) => a + b);

    /// <summary>Σ over levels of the commitment loss (before β).</summary>
    public Tensor CommitmentLoss => Levels.Select(l => l.CommitmentLoss).Aggregate((a, b) => a + b);

    /// <summary>The code maps [B, H_l, W_l], top first.</summary>
    public Tensor[] Codes => Levels.Select(l => l.Indices).ToArray();
}
