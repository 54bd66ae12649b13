using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Workbench.Gans;

namespace Workbench.Cli;

/// <summary>
/// <c>workbench gan-toy --variant gan|ns-gan|wgan-gp|sn-gan --toy ring8|grid25 --seed S --steps N [--every K]</c>: the
/// mode-collapse experiment on a 2-D mixture (<see cref="GanToyExperiment"/>). Progress rows go to stderr, the result to
/// stdout as one JSON line: variant, toy, seed, steps, modes covered, modes, high_quality, seconds.
/// </summary>
public static class GanToyCommand
{
    public static Command Create()
    {
        var variant = new Option<string>("--variant") { Description = $"One of {string.Join(", ", GanToyExperiment.Variants)}.", Required = true };
        var toy = new Option<string>("--toy") { Description = "ring8 (8 modes, σ 0.02) or grid25 (25 modes, σ 0.05).", DefaultValueFactory = _ => "ring8" };
        var seed = NumberOption.Long("--seed", "Seed of libtorch's generator (networks and data); default 0.");
        var steps = NumberOption.Long("--steps", "Generator steps; default 2000.");
        var every = NumberOption.Long("--every", "Mode report every this many steps on stderr (0: only the last); default 500.");
        var lr = NumberOption.Double("--lr", "Adam's learning rate; default 1e-3.");
        var scale = NumberOption.Double("--scale", "Multiply every length of the toy (centres and σ) by this; default 1.");
        var cmd = new Command("gan-toy", "Train a GAN variant on a 2-D mixture and count the modes it covers (the unrolled-GAN / VEEGAN / WGAN-GP toy protocol).")
        {
            variant, toy, seed, steps, every, lr, scale,
        };
        cmd.SetAction(p =>
        {
            try
            {
                var name = p.GetValue(variant)!;
                if (!GanToyExperiment.Variants.Contains(name, StringComparer.OrdinalIgnoreCase))
                    throw new UsageException($"--variant '{name}': choose one of {string.Join(", ", GanToyExperiment.Variants)}.");
                GaussianMixtureToy mixture;
                try { mixture = GaussianMixtureToy.FromName(p.GetValue(toy)!); }
                catch (ArgumentException e) { throw new UsageException($"--toy: {e.Message}"); }
                if (p.GetValue(scale) is double f)
                {
                    if (!(f > 0)) throw new UsageException($"--scale {f}: must be > 0.");
                    mixture = mixture.Scaled(f);
                }
                long n = p.GetValue(steps) ?? 2000, s = p.GetValue(seed) ?? 0, k = p.GetValue(every) ?? 500;
                if (n < 1) throw new UsageException($"--steps {n}: must be at least 1.");
                if (k < 0) throw new UsageException($"--every {k}: must be >= 0.");
                double rate = p.GetValue(lr) ?? 1e-3;
                if (!(rate > 0)) throw new UsageException($"--lr {rate}: must be > 0.");
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var report = GanToyExperiment.Run(name, mixture, s, n, k,
                    (step, r) => Console.Error.WriteLine($"step {step,6}: {r} ({clock.Elapsed.TotalSeconds:F0} s)"), rate);
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["variant"] = name.ToLowerInvariant(), ["toy"] = mixture.Name, ["seed"] = s, ["steps"] = n,
                    ["lr"] = rate, ["modes"] = report.Covered, ["of"] = report.Modes,
                    ["high_quality"] = Math.Round(report.HighQuality, 4),
                    ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
                }));
                return 0;
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return cmd;
    }
}
