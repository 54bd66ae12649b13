using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Workbench.Bench;

/// <summary>
/// Our side of the worker protocol (bench/README.md): set the threads, build the family's Small preset and trainer,
/// make the fixed batch, two warm-up steps, <c>ready params=N allocator=A</c>, then answer step / sample [mode] / flops / gemm / quit,
/// one line each on stdout. Any failure: <c>error message</c> and exit code 2.
/// </summary>
static class Worker
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static void Out(string line)
    {
        Console.Out.Write(line + "\n");
        Console.Out.Flush();
    }

    public static int Run(string family, int threads, int batch, long seed)
    {
        try
        {
            if (threads < 1 || batch < 1) throw new ArgumentException("--threads and --batch must be positive");

            set_num_threads(threads);
            Workbench.Training.Seeding.Set(seed);
            using var bench = BenchFamilies.Create(family, batch, seed);
            for (int i = 0; i < 2; i++) bench.Step();
            Out($"ready params={bench.Params} allocator={Workbench.Training.NativeAllocator.Kind}");

            string? line;
            while ((line = Console.In.ReadLine()) is not null)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0) continue;
                int Count(int dflt) => parts.Length > 1 ? int.Parse(parts[1], Inv) : dflt;
                switch (parts[0])
                {
                    case "step":
                    {
                        int k = Count(1);
                        if (k < 1) throw new ArgumentException("step K needs K >= 1");
                        ProcStats.ResetPeakRss();
                        long baseKb = ProcStats.RssKb();
                        long f0 = ProcStats.MinorFaults();
                        var sw = Stopwatch.StartNew();
                        for (int i = 0; i < k; i++) bench.Step();
                        sw.Stop();
                        long f1 = ProcStats.MinorFaults();
                        Out(string.Format(Inv, "step ms={0:F3} rss_kb={1} faults={2} base_kb={3}", sw.Elapsed.TotalMilliseconds / k, ProcStats.PeakRssKb(), f1 - f0, baseKb));
                        break;
                    }
                    case "sample":
                    {
                        int n = Count(64);
                        string? mode = parts.Length > 2 ? parts[2] : null;
                        var sw = Stopwatch.StartNew();
                        bench.Sample(n, mode);
                        Out(string.Format(Inv, "sample ms={0:F3}", sw.Elapsed.TotalMilliseconds));
                        break;
                    }
                    case "flops": Out("flops fwd=na"); break;
                    case "gemm": Out(string.Format(Inv, "gemm gflops={0:F3}", Gemm())); break;
                    case "quit": return 0;
                    default: throw new ArgumentException($"unknown command: {line.Trim()}");
                }
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            Out("error " + string.Join(' ', e.Message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
            return 2;
        }
    }

    /// <summary>GFLOP/s of a 1024x1024x1024 float32 matmul at the set threads (3 warm-ups, 20 timed).</summary>
    public static double Gemm()
    {
        const int n = 1024, reps = 20;
        using var scope = NewDisposeScope();
        using var g = new Generator(0);
        var a = randn(new long[] { n, n }, generator: g);
        var b = randn(new long[] { n, n }, generator: g);
        using var _ = no_grad();
        for (int i = 0; i < 3; i++) using (mm(a, b)) { }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) using (mm(a, b)) { }
        return 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds / 1e9;
    }
}
