using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// Activation normalization (Glow, Section 3.1, Table 1 row 1): y = (x + b) * exp(logs) per channel, with
/// log|det| = H*W*sum(logs). Data-dependent initialisation: the first batch it sees sets b and logs so that this
/// batch's output has zero mean and unit variance per channel. Whether that has happened is the buffer
/// <c>initialized</c>, so it travels with the state dict (a loaded model does not re-initialise).
/// The log-scale is stored divided by a factor (<c>logscale_factor</c> = 3 in Glow's code): the same density, but
/// the stored parameter moves three times less per unit of log-scale, which changes how fast Adam moves the scale.
/// Works on images [B, C, H, W] and on vectors [B, C].
/// </summary>
public sealed class ActNorm : FlowLayer
{
    readonly Parameter bias;
    readonly Parameter logs;
    readonly Tensor initialized;

    /// <param name="channels">C.</param>
    /// <param name="logScaleFactor">the log-scale is <c>logScaleFactor</c> times the stored parameter.</param>
    public ActNorm(long channels, double logScaleFactor = 1.0) : base(nameof(ActNorm))
    {
        if (!(logScaleFactor > 0)) throw new ArgumentOutOfRangeException(nameof(logScaleFactor), logScaleFactor, "ActNorm: the log-scale factor must be positive");
        Channels = channels;
        LogScaleFactor = logScaleFactor;
        bias = nn.Parameter(zeros(channels));
        logs = nn.Parameter(zeros(channels));
        initialized = zeros(1);
        RegisterComponents();
    }

    public long Channels { get; }
    public double LogScaleFactor { get; }

    public bool IsInitialized => initialized.dtype switch
    {
        ScalarType.Float32 => initialized.item<float>() != 0,
        ScalarType.Float64 => initialized.item<double>() != 0,
        _ => FlagAsDouble() != 0,
    };

    double FlagAsDouble()
    {
        using var scope = NewDisposeScope();
        return initialized.to(ScalarType.Float64).item<double>();
    }

    public Tensor Bias => bias;
    /// <summary>The log-scale per channel (the stored parameter times <see cref="LogScaleFactor"/>).</summary>
    public Tensor LogScale => logs * LogScaleFactor;

    /// <summary>Sets bias and log-scale from a batch: zero mean, unit variance per channel afterwards.</summary>
    public void InitializeFrom(Tensor x)
    {
        CheckChannels(x, Channels, nameof(ActNorm));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var flat = x.transpose(0, 1).reshape(Channels, -1);
        var mean = flat.mean(new long[] { 1 });
        var std = (flat - mean.unsqueeze(1)).pow(2).mean(new long[] { 1 }).sqrt();
        bias.copy_(-mean);
        logs.copy_(-(std + 1e-6).log() / LogScaleFactor);
        initialized.fill_(1);
    }

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Channels, nameof(ActNorm));
        if (!IsInitialized) InitializeFrom(x);
        var shape = ChannelShape(x, Channels);
        var s = logs * LogScaleFactor;
        var y = (x + bias.view(shape)) * s.view(shape).exp();
        var logdet = Broadcast(s.sum() * SpatialSize(x), x);
        return (y, logdet);
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Channels, nameof(ActNorm));
        var shape = ChannelShape(y, Channels);
        return y * (logs.view(shape) * -LogScaleFactor).exp() - bias.view(shape);
    }
}
