using TorchSharp;
using Workbench.Data;
using Workbench.Diffusion;
using Workbench.Flows;
using Workbench.Nvae;
using Workbench.StyleGan2;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Bench;

/// <summary>
/// One family's Small preset driven through the product's own trainer: <see cref="Step"/> is one call of the
/// trainer's public single-step entry point (<c>TrainStepOn</c>) on the fixed batch, <see cref="Sample"/> the family's
/// sampler in eval mode without gradients (as src/Workbench.Cli/Families does it, minus the CPU copy); a family may
/// have further named samplers (<see cref="BenchFamilies.SampleModes"/>: diffusion's DDPM ancestral sampler).
/// </summary>
interface IBenchFamily : IDisposable
{
    /// <summary>Trainable parameters (requires_grad) of everything the step updates.</summary>
    long Params { get; }
    void Step();
    /// <summary>n images with the family's default sampler (<paramref name="mode"/> null) or a named one.</summary>
    void Sample(int n, string? mode = null);
}

static class BenchFamilies
{
    public static readonly string[] Names = ["glow", "nvae", "vae", "stylegan2", "diffusion"];

    /// <summary>The named samplers a family has besides its default (<c>sample N MODE</c>); none for most.</summary>
    public static string[] SampleModes(string family) => family == "diffusion" ? ["ancestral"] : [];

    /// <summary>The fixed seeded random uint8 batch [B, C, H, W] (libtorch's generator with the seed).</summary>
    public static Tensor RandomImages(int batch, long seed, long c, long h, long w)
    {
        using var g = new Generator((ulong)seed);
        return randint(0, 256, new long[] { batch, c, h, w }, dtype: ScalarType.Byte, generator: g);
    }

    public static IBenchFamily Create(string family, int batch, long seed) => family switch
    {
        "glow" => Glow(batch, seed),
        "nvae" => Vae(new Workbench.Nvae.Nvae(NvaeConfig.Small), batch, seed),
        "vae" => Vae(new Vae(VaeConfig.Small), batch, seed),
        "stylegan2" => StyleGan2(batch, seed),
        "diffusion" => Diffusion(batch, seed),
        _ => throw new ArgumentException($"unknown family '{family}' (choose {string.Join(", ", Names)})"),
    };

    public static long Trainable(params nn.Module[] modules) =>
        modules.SelectMany(m => m.parameters()).Where(p => p.requires_grad).Distinct().Sum(p => p.numel());

    /// <summary>Glow Small on 1x28x28 through <see cref="FlowTrainer.TrainStepOn"/> (dequantization, bits/dim, Adam with
    /// warm-up, clipping); logging off (LogEvery = 0). Sampling: <see cref="Glow.Sample"/> at T = 1 to uint8.</summary>
    static IBenchFamily Glow(int batch, long seed)
    {
        // the PyTorch replica (bench/pytorch/glow.py) pads with zeros and stores ActNorm's log-scale directly
        var model = new Glow(GlowConfig.Small with { Padding = GlowPadding.Zero, ActNormLogScaleFactor = 1 }, 1, 28, 28);
        var trainer = new FlowTrainer(model, new FlowTrainConfig { BatchSize = batch, LogEvery = 0 });
        return new TrainerBench(trainer, RandomImages(batch, seed, 1, 28, 28),
            n => EvalMode.Run(model, () => Preprocess.FromFlowOutput(model.Sample(n, 1.0), model.Config.NBits)), model);
    }

    /// <summary>The plain VAE or NVAE Small through <see cref="NvaeTrainer.TrainStepOn"/> (ELBO with KL warm-up and
    /// balancing, spectral regularisation, Adamax with warm-up/cosine LR, clipping); its per-step metric row is off
    /// (LogEvery = 0). Sampling: <see cref="VaeModel.SampleImages"/> from the prior at T = 1.</summary>
    static IBenchFamily Vae(VaeModel model, int batch, long seed)
    {
        var trainer = new NvaeTrainer(model, new NvaeTrainConfig { BatchSize = batch, LogEvery = 0 });
        var (c, h, w) = model.ImageShape;
        return new TrainerBench(trainer, RandomImages(batch, seed, c, h, w), n => EvalMode.Run(model, () => model.SampleImages(n, 1.0)), model);
    }

    /// <summary>StyleGAN2 Small (3x32x32, its preset's data shape) through <see cref="StyleGan2Trainer.TrainStepOn"/> with
    /// lazy regularisation off (R1Interval = PathLengthInterval = 0): G step with style mixing, G EMA, D step. The
    /// trainer's per-step statistics and gradient norms (a few item() calls) are part of that entry point and stay in. Sampling: G_ema from
    /// z through mapping and synthesis (ψ = 1), to uint8.</summary>
    static IBenchFamily StyleGan2(int batch, long seed)
    {
        var config = StyleGan2Config.Small;
        var g = new StyleGan2Generator(config);
        var d = new StyleGan2Discriminator(config);
        var trainer = new StyleGan2Trainer(g, d, StyleGan2TrainConfig.Small with { R1Interval = 0, PathLengthInterval = 0, BatchSize = batch });
        return new TrainerBench(trainer, RandomImages(batch, seed, config.ImageChannels, config.Resolution, config.Resolution),
            n => Preprocess.FromSigned(trainer.GEma.Sample(n, 1.0)), g, d);
    }

    /// <summary>DDPM Small (<see cref="DiffusionConfig.Small"/>, 1x28x28, T = 1000) through <see cref="DiffusionTrainer"/>'s
    /// <c>TrainStepOn</c> with <see cref="DiffusionTrainConfig.Small"/> (L_simple, Adam with linear warm-up, clipping at 1,
    /// EMA update), logging off (LogEvery = 0). Sampling: <see cref="DiffusionTrainer.SampleImages"/> from the EMA model
    /// with the config's default sampler (DDIM, 50 steps, η = 0, x̂_0 clipped) to uint8; mode "ancestral": DDPM's
    /// ancestral sampler over all T steps (Algorithm 2).</summary>
    static IBenchFamily Diffusion(int batch, long seed)
    {
        var model = new UNet(DiffusionConfig.Small);
        var trainer = new DiffusionTrainer(model, DiffusionTrainConfig.Small with { BatchSize = batch, LogEvery = 0 });
        var c = model.Config;
        return new TrainerBench(trainer, RandomImages(batch, seed, c.ImageChannels, c.ImageSize, c.ImageSize), n => trainer.SampleImages(n), model)
        {
            Modes = new Dictionary<string, Func<int, Tensor>> { ["ancestral"] = n => trainer.SampleImages(n, ancestral: true) },
        };
    }
}

/// <summary>A family's trainer, its fixed batch and its sampler: each step and each sampling in its own dispose scope
/// (sampling without gradients); the trainable parameters are those of <paramref name="modules"/>; <see cref="Modes"/>
/// holds the family's named samplers besides the default.</summary>
sealed class TrainerBench(Trainer trainer, Tensor images, Func<int, Tensor> sample, params nn.Module[] modules) : IBenchFamily
{
    public long Params => BenchFamilies.Trainable(modules);

    public IReadOnlyDictionary<string, Func<int, Tensor>> Modes { get; init; } = new Dictionary<string, Func<int, Tensor>>();

    public void Step()
    {
        using var scope = NewDisposeScope();
        trainer.TrainStepOn(images);
    }

    public void Sample(int n, string? mode = null)
    {
        var sampler = mode is null ? sample
            : Modes.TryGetValue(mode, out var named) ? named
            : throw new ArgumentException($"no sampler '{mode}' in this family (its named samplers: {(Modes.Count == 0 ? "none" : string.Join(", ", Modes.Keys))})");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        sampler(n);
    }

    public void Dispose()
    {
        trainer.Dispose();
        foreach (var m in modules) m.Dispose();
        images.Dispose();
    }
}
