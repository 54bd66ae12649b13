using TorchSharp;
using TorchSharp.Modules;
using Workbench.Metrics;
using Workbench.Training;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Flows;

/// <summary>Configuration of <see cref="Flow2D"/>: RealNVP/Glow on 2-D points.</summary>
public sealed record Flow2DConfig
{
    /// <summary>Flow steps; each is ActNorm, permutation, coupling on the vector.</summary>
    public int Steps { get; init; } = 8;
    /// <summary>Width of the MLP coupling networks.</summary>
    public int Hidden { get; init; } = 64;
    public Coupling Coupling { get; init; } = Coupling.Affine;
    /// <summary>Reverse alternates which coordinate is transformed (RealNVP's alternating masks);
    /// Conv1x1 / Conv1x1LU learn a 2x2 rotation-like mixing (Glow).</summary>
    public Permutation Permutation { get; init; } = Permutation.Reverse;
    public bool ActNorm { get; init; } = true;
    /// <summary>Replace the coupling steps by a Masked Autoregressive Flow of <see cref="Steps"/> MADEs with
    /// <see cref="Hidden"/> units (Papamakarios et al. 2017); Coupling, Permutation and ActNorm are then unused.</summary>
    public bool Autoregressive { get; init; } = false;

    public static Flow2DConfig RealNvp => new();
    public static Flow2DConfig Glow => new() { Permutation = Permutation.Conv1x1LU };
    public static Flow2DConfig Nice => new() { Coupling = Coupling.Additive, ActNorm = true };
    public static Flow2DConfig Maf => new() { Autoregressive = true, Steps = 5, ActNorm = false };
}

/// <summary>
/// A flow on 2-D points for toy densities: K steps of (ActNorm, permutation, coupling with an MLP) under a
/// standard normal prior. log p(x) = log N(f(x); 0, I) + log|det df/dx| (Glow, Eq. 1-3).
/// </summary>
public sealed class Flow2D : nn.Module<Tensor, Tensor>
{
    readonly FlowSequence flow;

    public Flow2D(Flow2DConfig config, long dimensions = 2) : base(nameof(Flow2D))
    {
        Config = config;
        Dimensions = dimensions;
        var glowLike = new GlowConfig
        {
            HiddenChannels = config.Hidden, Coupling = config.Coupling, Permutation = config.Permutation, ActNorm = config.ActNorm,
        };
        flow = config.Autoregressive
            ? new FlowSequence(new FlowLayer[] { new MaskedAutoregressiveFlow(dimensions, config.Steps, config.Hidden) })
            : new FlowSequence(Enumerable.Range(0, config.Steps).Select(k => (FlowLayer)new FlowStep(dimensions, glowLike, k, vectors: true)));
        RegisterComponents();
    }

    public Flow2DConfig Config { get; }
    public long Dimensions { get; }

    /// <summary>The flow from data to latent, with log|det| per example.</summary>
    public FlowSequence Flow => flow;

    public Tensor Encode(Tensor x) => flow.Forward(x).Y;
    public Tensor Decode(Tensor z) => flow.Inverse(z);

    /// <summary>log p(x) in nats per point [B] for points [B, 2].</summary>
    public Tensor LogProb(Tensor x)
    {
        Shapes.Expect(x, "Flow2D: points", "B", Dimensions);
        var (z, logdet) = flow.Forward(x);
        return BitsPerDim.StandardNormalLogDensity(z) + logdet;
    }

    public override Tensor forward(Tensor x) => LogProb(x);

    /// <summary>n points at a temperature (prior std scaled by T), without gradients.</summary>
    public Tensor Sample(int n, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = parameters().First();
        return Decode(randn(n, Dimensions, dtype: p.dtype, device: p.device) * temperature).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Maximum likelihood on points from <paramref name="sample"/> (called with the batch size, returning [B, 2]):
    /// Adam with a 100-step linear warm-up (<see cref="Schedules.LinearWarmup"/>), one dispose scope per step; logs the mean NLL (nats per point) every
    /// <paramref name="logEvery"/> steps as "nll".
    /// </summary>
    public TrainingLog Fit(Func<int, Tensor> sample, int steps = 2000, int batchSize = 256, double learningRate = 1e-3,
        int logEvery = 100, Action<TrainingLog>? onLog = null)
    {
        var ps = parameters().Where(p => p.requires_grad).ToList();
        using var opt = optim.Adam(ps, learningRate);
        var log = new TrainingLog();
        double sum = 0;
        int count = 0;
        train();
        for (int step = 1; step <= steps; step++)
        {
            Schedules.SetLearningRate(opt, Schedules.LinearWarmup(step - 1, learningRate, 100));
            var r = TrainStep.Run(opt, ps, () => -LogProb(sample(batchSize).to(ps[0].dtype).to(ps[0].device)).mean(), step, 100);
            sum += r.Loss;
            count++;
            if (step % logEvery == 0 || step == steps)
            {
                log.Add(step, ("nll", sum / count));
                sum = 0; count = 0;
                onLog?.Invoke(log);
            }
        }
        eval();
        return log;
    }
}
