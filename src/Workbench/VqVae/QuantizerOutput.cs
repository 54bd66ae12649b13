using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// What <see cref="VectorQuantizer"/> returns for encoder outputs z_e(x) [B, D, H, W].
/// </summary>
/// <param name="Quantized">z_q(x) with the straight-through gradient: its value is the nearest code e_k, its gradient
/// goes to z_e(x) unchanged (Section 3.2).</param>
/// <param name="Indices">k = argmin_j ‖z_e(x) − e_j‖₂ per position, int64 [B, H, W] (Eq. 1).</param>
/// <param name="CodebookLoss">‖sg[z_e(x)] − e‖² averaged over elements (Eq. 3, second term); its gradient reaches the
/// codebook only under <see cref="CodebookUpdate.Loss"/>.</param>
/// <param name="CommitmentLoss">‖z_e(x) − sg[e]‖² averaged over elements (Eq. 3, third term, before β).</param>
/// <param name="Perplexity">exp(−Σ_k p_k log p_k) of the batch's code frequencies p_k (1: one code used; K: all equally).</param>
/// <param name="CodesUsed">how many distinct codes the batch uses.</param>
public sealed record QuantizerOutput(Tensor Quantized, Tensor Indices, Tensor CodebookLoss, Tensor CommitmentLoss, double Perplexity, long CodesUsed);
