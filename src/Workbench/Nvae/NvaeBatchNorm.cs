using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// BatchNorm as NVAE uses it (Vahdat &amp; Kautz 2020, Section 3.1, "Batch normalization"): the paper reports that
/// BN's running statistics, not BN itself, caused its evaluation-time problems and adjusts BN's momentum; NVAE's code
/// builds every BN layer with momentum 0.05 in PyTorch's convention (running = (1 − m)·running + m·batch). That is
/// a slower, longer running average than PyTorch's default m = 0.1 (each batch weighs half as much, an effective
/// window of about 20 batches instead of 10). Samples at a reduced temperature re-estimate the generative path's
/// statistics (<see cref="VaeModel.ReadjustBatchNorm"/>); the scale penalty on γ is
/// <see cref="VaeModel.BatchNormScalePenalty"/>.
/// </summary>
public static class NvaeBatchNorm
{
    /// <summary>The momentum NVAE's code uses (PyTorch convention).</summary>
    public const double Momentum = 0.05;

    public static BatchNorm2d Create(long channels) => nn.BatchNorm2d(channels, eps: 1e-5, momentum: Momentum);
}
