using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Workbench.Bench;

/// <summary>
/// The benchmark driver: per family starts our worker and the PyTorch replica, checks their parameter counts, then
/// alternates them batch by batch (<c>step K</c>, then <c>sample N</c>; the first to run alternates each pair), and
/// prints the machine and a Markdown table of medians, ratios (ours / PyTorch, lower is better) with min..max, step
/// FLOPs (3 × the replica's profiled forward), the fraction of the measured GEMM peak, peak RSS and minor faults.
/// Without torch under the Python interpreter, or without a family's replica, our numbers are printed alone and the
/// pairing is reported as skipped, with the reason.
/// </summary>
static class Driver
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public sealed record Options
    {
        public string[] Families { get; init; } = BenchFamilies.Names;
        public int Pairs { get; init; } = 12;
        public int Steps { get; init; } = 3;
        public int SamplePairs { get; init; } = 5;
        public int SampleN { get; init; } = 64;
        /// <summary>Pairs of <c>sample N ancestral</c> for the families with that sampler (diffusion).</summary>
        public int AncestralPairs { get; init; } = 3;
        /// <summary>Images per ancestral sampling command (T = 1000 network evaluations each: fewer than SampleN).</summary>
        public int AncestralN { get; init; } = 8;
        public int Threads { get; init; } = 1;
        public int Batch { get; init; } = 64;
        public long Seed { get; init; }
        public string? Out { get; init; }
        public string Python { get; init; } = "/usr/bin/python3";
        /// <summary>A folder put first on the PyTorch worker's LD_LIBRARY_PATH (e.g. OpenBLAS's libblas.so.3).</summary>
        public string? TorchLib { get; init; }
        /// <summary>Extra environment of our worker (e.g. glibc malloc tunables), from repeated <c>--ours-env K=V</c>.</summary>
        public Dictionary<string, string> OursEnv { get; init; } = new();
        /// <summary>Extra environment of the PyTorch worker (e.g. <c>LD_PRELOAD</c> of an allocator), from repeated <c>--torch-env K=V</c>.</summary>
        public Dictionary<string, string> TorchEnv { get; init; } = new();
    }

    /// <summary>Checks what System.CommandLine's types cannot (known families, positive counts).</summary>
    static void Validate(Options o)
    {
        foreach (var f in o.Families)
            if (!BenchFamilies.Names.Contains(f)) throw new ArgumentException($"unknown family '{f}' (choose {string.Join(", ", BenchFamilies.Names)})");
        if (o.Pairs < 1 || o.Steps < 1 || o.SamplePairs < 0 || o.SampleN < 1 || o.AncestralPairs < 0 || o.AncestralN < 1 || o.Threads < 1 || o.Batch < 1)
            throw new ArgumentException("--pairs, --steps, --sample-n, --ancestral-n, --threads and --batch must be positive, --sample-pairs and --ancestral-pairs >= 0");
    }

    /// <summary>
    /// The whole benchmark at each thread count of <paramref name="threadCounts"/> ("1" or "1,2,4,8,16"), one after the
    /// other, each with its own table (and its own CSV, <c>--out</c> suffixed <c>-t{n}</c> when there are several counts).
    /// </summary>
    public static int RunAtThreadCounts(Options options, string threadCounts)
    {
        var counts = new List<int>();
        foreach (var item in threadCounts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(item, NumberStyles.Integer, Inv, out int n) || n < 1)
            {
                Console.Error.WriteLine($"error: --threads {threadCounts}: '{item}' is not a positive thread count");
                return 2;
            }
            counts.Add(n);
        }
        if (counts.Count == 0) { Console.Error.WriteLine("error: --threads: give at least one count"); return 2; }
        int code = 0;
        foreach (int n in counts)
        {
            var at = options with
            {
                Threads = n,
                Out = options.Out is { } o && counts.Count > 1 ? Path.ChangeExtension(o, null) + $"-t{n}" + Path.GetExtension(o) : options.Out,
            };
            if (counts.Count > 1) Console.WriteLine($"\n## {n} thread(s)\n");
            code = Math.Max(code, Run(at));
        }
        return code;
    }

    /// <summary>NAME=VALUE pairs of <c>--ours-env</c> or <c>--torch-env</c> as a dictionary.</summary>
    public static Dictionary<string, string> ParseEnvironment(IEnumerable<string> pairs) => pairs.Aggregate(new Dictionary<string, string>(), WithEnv);

    static Dictionary<string, string> WithEnv(Dictionary<string, string> env, string kv)
    {
        int eq = kv.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"--ours-env/--torch-env want NAME=VALUE, got '{kv}'");
        return new Dictionary<string, string>(env) { [kv[..eq]] = kv[(eq + 1)..] };
    }

    /// <summary>One timing of one worker.</summary>
    sealed record Timing(double Ms, long RssKb, long Faults, long BaseKb = -1)
    {
        /// <summary>What the step itself added: peak RSS minus RSS at the command's start (NaN where not reported).</summary>
        public double StepKb => BaseKb < 0 || RssKb <= 0 ? double.NaN : RssKb - BaseKb;
    }

    /// <summary>One pair: both workers' timings (PyTorch's null when unpaired), which ran first.</summary>
    sealed record Pair(string Kind, int Index, string First, Timing Ours, Timing? Torch)
    {
        public double Ratio => Torch is null ? double.NaN : Ours.Ms / Torch.Ms;
    }

    sealed class FamilyResult(string name)
    {
        public string Name { get; } = name;
        public long OursParams, TorchParams = -1;
        public string? Skipped;          // why the pairing was skipped (null: paired)
        public string? Failed;          // why our side failed (null: fine)
        public readonly List<Pair> Steps = new();
        public readonly List<Pair> Samples = new();
        /// <summary>Pairs of each named sampler (<c>sample N mode</c>), by mode.</summary>
        public readonly Dictionary<string, List<Pair>> ModeSamples = new();
        public double FwdFlops = double.NaN, OursGemm = double.NaN, TorchGemm = double.NaN;
    }

    public static int Run(Options o)
    {
        try { Validate(o); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }

        string root = FindRepoRoot();
        Console.WriteLine("# Workbench benchmark: one training step and sampling of the Small presets, ours vs PyTorch");
        Console.WriteLine();
        Console.WriteLine($"- machine: {CpuModel()}, {Environment.ProcessorCount} logical cores, load average at start {LoadAverage()}");
        Console.WriteLine($"- settings: families {string.Join(",", o.Families)}; {o.Pairs} pairs of `step {o.Steps}`, {o.SamplePairs} pairs of " +
                          $"`sample {o.SampleN}`" + (o.Families.Any(f => BenchFamilies.SampleModes(f).Contains("ancestral"))
                              ? $", {o.AncestralPairs} pairs of `sample {o.AncestralN} ancestral` (diffusion)" : "") +
                          $"; threads {o.Threads}, batch {o.Batch}, seed {o.Seed}");
        if (o.OursEnv.Count > 0)
            Console.WriteLine($"- our worker's extra environment: {string.Join(" ", o.OursEnv.Select(kv => $"{kv.Key}={kv.Value}"))}");
        if (o.TorchEnv.Count > 0)
            Console.WriteLine($"- the PyTorch worker's extra environment: {string.Join(" ", o.TorchEnv.Select(kv => $"{kv.Key}={kv.Value}"))}");
        var (torchVersion, torchWhy) = ProbeTorch(o.Python, TorchEnvironment(o));
        Console.WriteLine(torchVersion is not null
            ? $"- PyTorch: {torchVersion} under {o.Python}" + (o.TorchLib is null ? "" : $", with {o.TorchLib} first on LD_LIBRARY_PATH")
            : $"- PyTorch: none: {torchWhy}; the pairing is skipped for every family and our numbers are printed alone");
        Console.WriteLine();

        var results = new List<FamilyResult>();
        foreach (var family in o.Families)
        {
            string? replica = Path.Combine(root, "bench", "pytorch", family + ".py");
            string? skip = torchVersion is null ? $"no torch under {o.Python} ({torchWhy})"
                : !File.Exists(replica) ? $"no PyTorch replica bench/pytorch/{family}.py in this checkout" : null;
            results.Add(RunFamily(o, root, family, skip is null ? replica : null, skip));
        }

        Console.WriteLine();
        Console.WriteLine($"- load average at end {LoadAverage()}");
        Console.WriteLine();
        PrintTable(o, results);
        if (o.Out is not null)
        {
            WriteCsv(o.Out, results);
            Console.WriteLine();
            Console.WriteLine($"Every pair: {o.Out}");
        }
        return results.Any(r => r.Failed is not null) ? 1 : 0;
    }

    static FamilyResult RunFamily(Options o, string root, string family, string? replica, string? skip)
    {
        var r = new FamilyResult(family) { Skipped = skip };
        string[] common = ["--threads", o.Threads.ToString(Inv), "--batch", o.Batch.ToString(Inv), "--seed", o.Seed.ToString(Inv)];
        WorkerProcess? ours = null, torch = null;
        try
        {
            Log($"{family}: starting our worker");
            var (file, pre) = OurWorkerCommand();
            ours = WorkerProcess.Start("ours", file, [.. pre, "worker", "--family", family, .. common], root, o.Threads, o.OursEnv);
            var ready = ours.Ask(null, "ready");
            r.OursParams = long.Parse(ready["params"], Inv);
            if (ready.TryGetValue("allocator", out var allocator)) Console.WriteLine($"{family}: our worker's allocator: {allocator}");
            if (replica is not null)
            {
                Log($"{family}: starting the PyTorch replica");
                try
                {
                    torch = WorkerProcess.Start("pytorch", o.Python, ["-u", replica, .. common], root, o.Threads, TorchEnvironment(o));
                    r.TorchParams = long.Parse(torch.Ask(null, "ready")["params"], Inv);
                }
                catch (WorkerException e)
                {
                    r.Skipped = $"the PyTorch replica failed to start: {e.Message}";
                    torch?.Dispose();
                    torch = null;
                }
            }
            if (torch is not null)
            {
                if (r.TorchParams == r.OursParams)
                    Console.WriteLine($"{family}: parameters ours {r.OursParams:N0}, PyTorch {r.TorchParams:N0}: equal");
                else
                    Console.WriteLine($"{family}: PARAMETER COUNT MISMATCH: ours {r.OursParams:N0}, PyTorch {r.TorchParams:N0} " +
                                      $"(difference {r.OursParams - r.TorchParams:+#;-#;0}); the replica is not the same model, ratios are suspect");
            }
            else
                Console.WriteLine($"{family}: parameters ours {r.OursParams:N0}; pairing skipped: {r.Skipped}");

            torch = Measure(r, r.Steps, "step", o.Pairs, $"step {o.Steps}", ours, torch, f => new Timing(
                WorkerProcess.Num(f, "ms"), (long)WorkerProcess.Num(f, "rss_kb"), (long)WorkerProcess.Num(f, "faults"),
                double.IsNaN(WorkerProcess.Num(f, "base_kb")) ? -1 : (long)WorkerProcess.Num(f, "base_kb")));
            torch = Measure(r, r.Samples, "sample", o.SamplePairs, $"sample {o.SampleN}", ours, torch, f => new Timing(WorkerProcess.Num(f, "ms"), 0, 0));
            foreach (var mode in BenchFamilies.SampleModes(family))
            {
                var (pairs, n) = mode == "ancestral" ? (o.AncestralPairs, o.AncestralN) : (o.SamplePairs, o.SampleN);
                r.ModeSamples[mode] = new List<Pair>();
                torch = Measure(r, r.ModeSamples[mode], "sample", pairs, $"sample {n} {mode}", ours, torch,
                    f => new Timing(WorkerProcess.Num(f, "ms"), 0, 0), label: $"sample {mode}");
            }
            r.OursGemm = WorkerProcess.Num(ours.Ask("gemm", "gemm"), "gflops");
            if (torch is not null)
            {
                try
                {
                    r.TorchGemm = WorkerProcess.Num(torch.Ask("gemm", "gemm"), "gflops");
                    r.FwdFlops = WorkerProcess.Num(torch.Ask("flops", "flops"), "fwd");
                }
                catch (WorkerException e) { Console.WriteLine($"{family}: the PyTorch replica failed on gemm/flops: {e.Message}"); }
            }
        }
        catch (Exception e) when (e is WorkerException or IOException or FormatException or KeyNotFoundException or System.ComponentModel.Win32Exception)
        {
            r.Failed = e.Message;
            Console.WriteLine($"{family}: FAILED: {e.Message}");
        }
        finally
        {
            ours?.Dispose();
            torch?.Dispose();
        }
        return r;
    }

    /// <summary>Pairs of one command, the first to run alternating (ours first in even pairs); each worker runs alone.
    /// A replica that fails stops the pairing (the reason goes to <see cref="FamilyResult.Skipped"/>) and our side goes on
    /// alone; returns the replica still running (null when none).</summary>
    static WorkerProcess? Measure(FamilyResult r, List<Pair> into, string kind, int pairs, string command, WorkerProcess ours,
        WorkerProcess? torch, Func<Dictionary<string, string>, Timing> read, string? label = null)
    {
        label ??= kind;
        for (int i = 0; i < pairs; i++)
        {
            bool oursFirst = i % 2 == 0;
            Timing? t = null, u;
            Timing? AskTorch()
            {
                if (torch is null) return null;
                try { return read(torch.Ask(command, kind)); }
                catch (WorkerException e)
                {
                    r.Skipped = $"the PyTorch replica failed during `{command}`: {e.Message}";
                    Console.WriteLine($"{r.Name}: pairing stopped: {r.Skipped}");
                    torch.Dispose();
                    torch = null;
                    return null;
                }
            }
            if (!oursFirst) t = AskTorch();
            u = read(ours.Ask(command, kind));
            if (oursFirst) t = AskTorch();
            var pair = new Pair(label.Replace(' ', '-'), i, t is null ? "ours" : oursFirst ? "ours" : "pytorch", u, t);
            into.Add(pair);
            Log(string.Format(Inv, "{0} {1} {2}/{3}: ours {4:F1} ms{5}", r.Name, label, i + 1, pairs, u.Ms,
                t is null ? "" : string.Format(Inv, ", PyTorch {0:F1} ms, ratio {1:F2}", t.Ms, pair.Ratio)));
        }
        return torch;
    }

    static void Log(string message)
    {
        Console.Error.WriteLine($"[bench {DateTime.UtcNow:HH:mm:ss}] {message}");
    }

    // ---------------------------------------------------------------- the table

    static double Median(IEnumerable<double> xs)
    {
        var a = xs.Where(x => !double.IsNaN(x)).OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]);
    }

    static string F(double x, string fmt = "F1") => double.IsNaN(x) || double.IsInfinity(x) ? "–" : x.ToString(fmt, Inv);

    static string RatioCell(List<Pair> pairs)
    {
        var rs = pairs.Select(p => p.Ratio).Where(x => !double.IsNaN(x)).ToArray();
        return rs.Length == 0 ? "–" : $"{F(Median(rs), "F2")} [{F(rs.Min(), "F2")}..{F(rs.Max(), "F2")}]";
    }

    static void PrintTable(Options o, List<FamilyResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"ms/step: median over {o.Pairs} pairs of the mean of `step {o.Steps}` (batch {o.Batch}, {o.Threads} thread(s)); " +
                      "ratio = ours / PyTorch per pair, median [min..max], lower is better for us. " +
                      "Step GFLOP = 3 × the PyTorch replica's profiled forward FLOPs; % of peak = step GFLOP/s over the best measured " +
                      "1024³ float32 GEMM GFLOP/s. RSS = peak VmHWM during a `step` command (max over pairs); faults = minor page faults per step (median).");
        sb.AppendLine();
        sb.AppendLine("| family | params | PyTorch ms/step | ours ms/step | median ratio [min..max] | step GFLOP (3×fwd) | % of GEMM peak (ours / PyTorch) | peak RSS MB (ours / PyTorch) | step's own MB (ours / PyTorch) | faults/step (ours / PyTorch) | sample 64 ms (ours / PyTorch) | sample ratio [min..max] |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            if (r.Failed is not null)
            {
                sb.AppendLine($"| {r.Name} | {r.OursParams:N0} | – | failed: {r.Failed.Replace('|', '/')} | – | – | – | – | – | – | – | – |");
                continue;
            }
            var tSteps = r.Steps.Where(p => p.Torch is not null).ToList();
            var tSamples = r.Samples.Where(p => p.Torch is not null).ToList();
            bool paired = tSteps.Count > 0 || tSamples.Count > 0;
            string pars = r.TorchParams < 0 ? $"{r.OursParams:N0}"
                : r.OursParams == r.TorchParams ? $"{r.OursParams:N0}" : $"**MISMATCH** {r.OursParams:N0} / {r.TorchParams:N0}";
            double oursMs = Median(r.Steps.Select(p => p.Ours.Ms));
            double torchMs = Median(tSteps.Select(p => p.Torch!.Ms));
            double gflop = 3 * r.FwdFlops / 1e9;
            double peak = Math.Max(double.IsNaN(r.OursGemm) ? 0 : r.OursGemm, double.IsNaN(r.TorchGemm) ? 0 : r.TorchGemm);
            string Pct(double ms) => peak > 0 && !double.IsNaN(gflop) ? F(100 * gflop / (ms / 1000) / peak, "F1") + "%" : "–";
            double oursRss = r.Steps.Count == 0 ? double.NaN : r.Steps.Max(p => p.Ours.RssKb) / 1024.0;
            double torchRss = tSteps.Count > 0 ? tSteps.Max(p => p.Torch!.RssKb) / 1024.0 : double.NaN;
            double oursOwn = r.Steps.Count == 0 ? double.NaN : r.Steps.Max(p => p.Ours.StepKb) / 1024.0;
            double torchOwn = tSteps.Count > 0 ? tSteps.Max(p => p.Torch!.StepKb) / 1024.0 : double.NaN;
            double oursF = Median(r.Steps.Select(p => (double)p.Ours.Faults / o.Steps));
            double torchF = Median(tSteps.Select(p => (double)p.Torch!.Faults / o.Steps));
            double oursS = Median(r.Samples.Select(p => p.Ours.Ms));
            double torchS = Median(tSamples.Select(p => p.Torch!.Ms));
            sb.AppendLine($"| {r.Name} | {pars} | {F(torchMs)} | {F(oursMs)} | {(tSteps.Count > 0 ? RatioCell(tSteps) : "skipped")} | {F(gflop, "F2")} | " +
                          $"{Pct(oursMs)} / {Pct(torchMs)} | {F(oursRss, "F0")} / {F(torchRss, "F0")} | {F(oursOwn, "F0")} / {F(torchOwn, "F0")} | {F(oursF, "F0")} / {F(torchF, "F0")} | " +
                          $"{F(oursS)} / {F(torchS)} | {(tSamples.Count > 0 ? RatioCell(tSamples) : "skipped")} |");
        }
        var moded = results.Where(r => r.Failed is null && r.ModeSamples.Values.Any(l => l.Count > 0)).ToList();
        if (moded.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Other samplers (`sample N MODE`), ms per command, median over the pairs; ratio = ours / PyTorch per pair, median [min..max]:");
            sb.AppendLine();
            sb.AppendLine("| family | sampler | images | pairs | ours ms | PyTorch ms | ratio [min..max] |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var r in moded)
                foreach (var (mode, list) in r.ModeSamples.Where(kv => kv.Value.Count > 0))
                {
                    var paired = list.Where(p => p.Torch is not null).ToList();
                    int n = mode == "ancestral" ? o.AncestralN : o.SampleN;
                    sb.AppendLine($"| {r.Name} | {mode} | {n} | {list.Count} | {F(Median(list.Select(p => p.Ours.Ms)))} | " +
                                  $"{F(Median(paired.Select(p => p.Torch!.Ms)))} | {(paired.Count > 0 ? RatioCell(paired) : "skipped")} |");
                }
        }
        sb.AppendLine();
        foreach (var r in results)
        {
            var gemm = $"GEMM peak ours {F(r.OursGemm)} GFLOP/s" + (double.IsNaN(r.TorchGemm) ? "" : $", PyTorch {F(r.TorchGemm)} GFLOP/s");
            sb.AppendLine(r.Skipped is null
                ? $"- {r.Name}: paired; {gemm}."
                : $"- {r.Name}: pairing skipped or stopped ({r.Skipped}); {gemm}.");
        }
        var slow = results.Where(r => r.TorchGemm < 0.5 * r.OursGemm).ToList();
        if (slow.Count > 0)
            sb.AppendLine($"- NOTE: PyTorch's own GEMM is under half of ours ({F(slow.Max(r => r.TorchGemm))} vs {F(slow.Max(r => r.OursGemm))} GFLOP/s): " +
                          "its BLAS is slow (Debian's python3-torch is built with BLAS_INFO=generic and uses whatever libblas.so.3 " +
                          "provides, the netlib reference BLAS unless OpenBLAS is installed). Its matmul/Linear work is slowed and the " +
                          "ratios flatter ours there; its convolutions go through oneDNN and are not affected. Give it OpenBLAS with " +
                          "`--torch-lib DIR` (bench/README.md).");
        Console.Write(sb.ToString());
    }

    static void WriteCsv(string path, List<FamilyResult> results)
    {
        var sb = new StringBuilder("family,kind,pair,first,ours_ms,pytorch_ms,ratio,ours_rss_kb,pytorch_rss_kb,ours_base_kb,pytorch_base_kb,ours_faults,pytorch_faults\n");
        foreach (var r in results)
            foreach (var p in r.Steps.Concat(r.Samples).Concat(r.ModeSamples.Values.SelectMany(l => l)))
                sb.AppendLine(string.Join(",", r.Name, p.Kind, p.Index.ToString(Inv), p.First, p.Ours.Ms.ToString("R", Inv),
                    p.Torch?.Ms.ToString("R", Inv) ?? "", double.IsNaN(p.Ratio) ? "" : p.Ratio.ToString("R", Inv),
                    p.Kind == "step" ? p.Ours.RssKb.ToString(Inv) : "", p.Kind == "step" ? p.Torch?.RssKb.ToString(Inv) ?? "" : "",
                    p.Kind == "step" ? p.Ours.BaseKb.ToString(Inv) : "", p.Kind == "step" ? p.Torch?.BaseKb.ToString(Inv) ?? "" : "",
                    p.Kind == "step" ? p.Ours.Faults.ToString(Inv) : "", p.Kind == "step" ? p.Torch?.Faults.ToString(Inv) ?? "" : ""));
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, sb.ToString());
    }

    // ---------------------------------------------------------------- the machine and the workers

    /// <summary>The PyTorch worker's extra environment: <c>--torch-env</c>, and <c>--torch-lib</c> first on LD_LIBRARY_PATH.</summary>
    static Dictionary<string, string> TorchEnvironment(Options o)
    {
        var env = new Dictionary<string, string>(o.TorchEnv);
        if (o.TorchLib is not null)
        {
            var old = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            env["LD_LIBRARY_PATH"] = string.IsNullOrEmpty(old) ? o.TorchLib : o.TorchLib + ":" + old;
        }
        return env;
    }

    /// <summary>How to start this program as a worker: the apphost itself, or `dotnet Workbench.Bench.dll`.</summary>
    static (string File, string[] Pre) OurWorkerCommand()
    {
        string exe = Environment.ProcessPath ?? "dotnet";
        string dll = typeof(Driver).Assembly.Location;
        return Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? (exe, [dll])
            : (exe, []);
    }

    /// <summary>The repository root (holding bench/pytorch): up from the working directory, then from the program.</summary>
    static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, "bench", "pytorch"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }

    /// <summary>torch's version under the interpreter, or why there is none.</summary>
    static (string? Version, string Why) ProbeTorch(string python, IReadOnlyDictionary<string, string> environment)
    {
        if (!File.Exists(python)) return (null, $"{python} does not exist");
        try
        {
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-c", "import torch; print(torch.__version__)" }) psi.ArgumentList.Add(a);
            foreach (var (k, v) in environment) psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(120_000)) { p.Kill(); return (null, $"{python} -c 'import torch' did not finish in 2 minutes"); }
            if (p.ExitCode == 0) return (stdout.Result.Trim(), "");
            var last = stderr.Result.Trim().Split('\n').LastOrDefault() ?? "";
            return (null, $"`{python} -c 'import torch'` failed: {last.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e) { return (null, $"{python} could not be run: {e.Message}"); }
    }

    static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
