using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// BatchNorm as NVAE uses it (Section 3.1, "Batch normalization"): the paper found the running statistics of BN
/// with the default momentum lag behind the fast-changing batch statistics of a VAE, which hurt the model at
/// evaluation time (the seeds' review: "modifies the momentum since the previously used momentum influenced the
/// test phase negatively"); NVAE's code constructs its BN layers with momentum 0.05 in PyTorch's convention
/// (running = (1 − m)·running + m·batch), which we keep. Low-temperature samples additionally re-estimate
/// the statistics (see <see cref="VaeModel.ReadjustBatchNorm"/>).
/// </summary>
public static class NvaeBatchNorm
{
    /// <summary>The momentum NVAE's code uses (PyTorch convention).</summary>
    public const double Momentum = 0.05;

    public static BatchNorm2d Create(long channels) => nn.BatchNorm2d(channels, eps: 1e-5, momentum: Momentum);
}
