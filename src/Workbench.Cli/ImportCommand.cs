using System.CommandLine;
using Workbench.Cli.Families;
using Workbench.Flows;
using Workbench.Interop;
using Workbench.StyleGan2;
using Workbench.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Cli;

/// <summary>
/// <c>workbench import pytorch FILE --family stylegan2|glow --out RUN</c>: a PyTorch checkpoint in rosinality's
/// stylegan2-pytorch or glow-pytorch layout (read by <see cref="TorchCheckpoint"/>: nothing in it runs) becomes a run
/// folder (run.json with the inferred config, checkpoints/last.safetensors at step 0) that sample, eval and zoo open.
/// A file that does not fit the layout is refused with every unknown key, missing key and shape mismatch by name.
/// A stylegan2-pytorch checkpoint's <c>d</c>, when present, becomes the run's discriminator, so that
/// <c>train --resume RUN</c> continues the GAN (with fresh optimizer states: theirs are not read).
/// </summary>
public static class ImportCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var file = new Argument<string>("file") { Description = "The PyTorch checkpoint (.pt) to read." };
        var family = new Option<string>("--family") { Description = "Its layout: stylegan2 (rosinality/stylegan2-pytorch) or glow (rosinality/glow-pytorch).", Required = true };
        var output = new Option<string>("--out") { Description = "The run folder to create.", Required = true };
        var size = NumberOption.Int("--size", "glow: the image side (glow-pytorch's checkpoints do not record it; its train.py default is 64).");
        var bits = NumberOption.Int("--n-bits", "glow: bits per colour channel of the data (glow-pytorch's default 5).");
        var data = new Option<string?>("--data") { Description = "The dataset eval uses by default (default: the family's)." };
        var key = new Option<string?>("--key") { Description = "stylegan2: the generator's key in the checkpoint (default g_ema, else g)." };
        var flip = new Option<bool>("--flip-up-weights") { Description = "stylegan2: the upsampling convolutions' kernels are in NVlabs' orientation (flip them over both spatial axes, as stylegan2-pytorch's convert_weight.py does)." };
        var pytorch = new Command("pytorch", "Read a PyTorch checkpoint (rosinality's stylegan2-pytorch or glow-pytorch layout) into a run folder.")
            { file, family, output, size, bits, data, key, flip };
        pytorch.SetAction(p => CliOutput.Guard(p.GetValue(verbose), () =>
        {
            var path = p.GetValue(file)!;
            var run = p.GetValue(output)!;
            if (Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any())
                throw new UsageException($"--out {run}: the folder exists and is not empty.");
            var name = p.GetValue(family)!.ToLowerInvariant();
            if (name is not ("stylegan2" or "glow")) throw new UsageException($"--family {name}: choose stylegan2 or glow.");
            if (name != "glow" && (p.GetValue(size) is not null || p.GetValue(bits) is not null))
                throw new UsageException("--size and --n-bits are glow's (a stylegan2-pytorch generator records its size).");
            if (name != "stylegan2" && (p.GetValue(key) is not null || p.GetValue(flip)))
                throw new UsageException("--key and --flip-up-weights are stylegan2's.");
            var root = TorchCheckpoint.Read(path) as PyDict ?? throw new InvalidDataException($"{path}: the checkpoint is not a dict");
            var registry = FamilyRegistry.Get(name);
            using var scope = NewDisposeScope();
            RunConfig config;
            long[] shape;
            Trainer trainer;
            var notes = new List<string>();
            if (name == "stylegan2")
            {
                using var g = StyleGan2RosinalityLayout.Import(root, path, p.GetValue(flip), p.GetValue(key));
                if (!StyleGan2RosinalityLayout.HasLatentAvg(root))
                {
                    StyleGan2RosinalityLayout.EstimateWAvg(g);
                    notes.Add("no latent_avg in the file: w_avg estimated from 4,096 z (seed 0), as stylegan2-pytorch's generate.py does");
                }
                config = new RunConfig(g.Config, new StyleGan2TrainConfig { Steps = 0 });
                shape = new long[] { g.Config.ImageChannels, g.Config.Resolution, g.Config.Resolution };
                trainer = registry.CreateTrainer(config, CPU, shape);
                var st = (StyleGan2Trainer)trainer;
                st.GEma.load_state_dict(g.state_dict());
                if (p.GetValue(key) is null && root.TryGet("g", out var gTrain) && gTrain is PyDict)
                {
                    using var gt = StyleGan2RosinalityLayout.Import(root, path, p.GetValue(flip), "g");
                    st.G.load_state_dict(gt.state_dict());
                    using (no_grad()) st.G.WAvg.copy_(g.WAvg);
                }
                else st.G.load_state_dict(g.state_dict());
                if (StyleGan2RosinalityDiscriminatorLayout.HasDiscriminator(root))
                {
                    using var d = StyleGan2RosinalityDiscriminatorLayout.Import(root, path, g.Config);
                    st.D.load_state_dict(d.state_dict());
                }
                else notes.Add("no discriminator under 'd': the run's is freshly initialised (sample and eval use the generator only; training on starts it from scratch)");
                if (root.TryGet("g_optim", out _) || root.TryGet("d_optim", out _))
                    notes.Add("the optimizer states (g_optim, d_optim) are not imported: training on starts Adam afresh");
            }
            else
            {
                int side = p.GetValue(size) ?? throw new UsageException("--size: give the image side for glow (its checkpoints do not record it).");
                using var model = GlowRosinalityLayout.Import(root, path, side, side, p.GetValue(bits) ?? 5);
                config = new RunConfig(model.Config, new FlowTrainConfig { Steps = 0 });
                shape = new[] { model.Channels, side, side };
                trainer = registry.CreateTrainer(config, CPU, shape);
                var ft = (FlowTrainer)trainer;
                ft.Model.load_state_dict(model.state_dict());
                ft.EmaModel?.load_state_dict(model.state_dict());
            }
            using (trainer)
            {
                Directory.CreateDirectory(RunFolder.CheckpointDir(run));
                trainer.Step = 0;
                // The trainer here has no data: the checkpoint records the data order train --resume starts from
                // (position 0 of the order shuffled with the run's seed, 0), as a run's own first checkpoint would.
                trainer.Save(RunFolder.LastCheckpoint(run), new Dictionary<string, string> { ["loader_position"] = "0", ["loader_seed"] = "0" },
                    logPath: RunFolder.LogPath(run));
                var batch = config.Training is StyleGan2TrainConfig st ? st.BatchSize : ((FlowTrainConfig)config.Training).BatchSize;
                // An image folder is recorded by full path at the model's side, so that train --resume reads it as the model needs.
                var dataName = p.GetValue(data) ?? registry.DefaultData;
                int? imageSize = null;
                if (RunData.IsFolder(dataName)) { dataName = Path.GetFullPath(dataName); imageSize = (int)shape[^1]; }
                RunFolder.WriteInfo(run, new RunInfo(name, dataName, shape, batch, 0, 0, "imported",
                    RunInfo.ConfigJson(config), ImageSize: imageSize, Commands: new[] { Provenance.CommandLine(p) }, Commit: Provenance.Commit(),
                    Machine: Provenance.Machine()));
            }
            foreach (var n in notes) Console.Error.WriteLine($"note: {n}");
            CliOutput.WriteResult(new Dictionary<string, object?>
            {
                ["model"] = name, ["run"] = run, ["source"] = path, ["config"] = config.Model.ToString(), ["shape"] = shape,
            });
            return 0;
        }));
        return new Command("import", "Read models saved by other tools.") { pytorch };
    }
}
