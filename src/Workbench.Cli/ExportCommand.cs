using System.CommandLine;
using Workbench.Flows;
using Workbench.Interop;
using Workbench.StyleGan2;

namespace Workbench.Cli;

/// <summary>
/// <c>workbench export pytorch RUN --out FILE.pt</c>: the network a run samples with (StyleGAN2's EMA generator, the
/// Glow) as a PyTorch checkpoint in rosinality's layout, readable by <c>torch.load(f, weights_only=True)</c>:
/// stylegan2 from a run as <c>{"g", "d", "g_ema", "latent_avg"}</c> (train.py's keys, without its optimizer states), from
/// a zoo model (which holds only the averaged generator) as <c>{"g_ema", "latent_avg"}</c> (convert_weight.py's form), glow as the bare
/// Glow's state dict. A Glow that glow-pytorch cannot compute (not ones padding, no learned top prior…) is refused.
/// </summary>
public static class ExportCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var target = new Argument<string>("run") { Description = "A run folder, a checkpoint file or a zoo model's folder." };
        var output = new Option<string>("--out") { Description = "The .pt file to write.", Required = true };
        var flip = new Option<bool>("--flip-up-weights") { Description = "stylegan2: write the upsampling kernels in NVlabs' orientation." };
        var pytorch = new Command("pytorch", "Write a run's model as a PyTorch checkpoint in rosinality's stylegan2-pytorch or glow-pytorch layout.")
            { target, output, flip };
        pytorch.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var path = p.GetValue(output)!;
            OutputPath.Check("--out", path);
            var source = p.GetValue(target)!;
            using var loaded = LoadedRun.Open(source, [], "export");
            var module = loaded.Family.InferenceModule(loaded.Trainer);
            // A zoo model holds only the network that samples; a run's checkpoint holds the whole GAN.
            bool whole = !Workbench.Zoo.ZooModel.IsZooFolder(source);
            PyDict content = module switch
            {
                StyleGan2Generator g when whole && loaded.Trainer is StyleGan2Trainer st => StyleGan2RosinalityLayout.Export(g, st.G, st.D, p.GetValue(flip)),
                StyleGan2Generator g => StyleGan2RosinalityLayout.Export(g, p.GetValue(flip)),
                Glow glow when !p.GetValue(flip) => GlowRosinalityLayout.Export(glow),
                Glow => throw new UsageException("--flip-up-weights is stylegan2's."),
                _ => throw new UsageException($"export pytorch: {loaded.Info.Model} models have no PyTorch layout here (stylegan2 and glow do)."),
            };
            TorchCheckpoint.Write(path, content);
            CliOutput.WriteResult(new Dictionary<string, object?> { ["model"] = loaded.Info.Model, ["run"] = loaded.Run, ["output"] = path });
            return 0;
        }));
        return new Command("export", "Write models for other tools.") { pytorch };
    }
}
