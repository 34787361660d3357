using System.Diagnostics;
using System.Globalization;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--quick</c>: a fast GEMM table (seconds, not minutes) without BenchmarkDotNet. Each case runs for a
/// fixed time budget and keeps the best repetition, timed two ways: wall clock, and the process's CPU time.
/// On a machine shared with other work the CPU-time rate (GFLOP per CPU-second) still shows what the kernel
/// achieves on the cores it gets; with one thread it is directly comparable to the per-core peak.
/// </summary>
public static class QuickGemm
{
    public static int Run(MachinePeak machine, TextWriter output, string? filter)
    {
        var rows = new List<string[]>
        {
            new[] { "Case", "Time (us)", "GFLOP/s", "%Peak", "GFLOP/cpu-s", "%Peak(cpu)" },
        };
        foreach (var c in GemmBenchmarks.Cases())
        {
            if (filter is not null && !c.ToString().Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            var (wall, cpu) = Measure(c);
            double peak = machine.PerCoreGflops * c.Threads;
            string F(double x) => x.ToString("F1", CultureInfo.InvariantCulture);
            rows.Add(new[]
            {
                c.ToString(), F(wall * 1e6), F(c.Flops / wall / 1e9), F(100 * c.Flops / wall / 1e9 / peak),
                F(c.Flops / cpu / 1e9), F(100 * c.Flops / cpu / 1e9 / machine.PerCoreGflops),
            });
            output.WriteLine(string.Join(" | ", rows[^1]));
        }
        output.WriteLine();
        int[] widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var r in rows)
            output.WriteLine("| " + string.Join(" | ", r.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))) + " |");
        output.WriteLine("%Peak: wall-clock rate against threads × per-core peak; %Peak(cpu): rate per CPU-second against one core's peak.");
        return 0;
    }

    private static (double Wall, double Cpu) Measure(GemmCase c)
    {
        var bench = new GemmBenchmarks { Case = c };
        bench.Setup();
        try
        {
            bench.Sgemm();
            var warm = Stopwatch.StartNew();
            int calls = 0;
            while (warm.Elapsed.TotalSeconds < 0.2 || calls < 2) { bench.Sgemm(); calls++; }
            int perRep = Math.Max(1, (int)(calls * 0.1 / warm.Elapsed.TotalSeconds));
            double bestWall = double.MaxValue, bestCpu = double.MaxValue;
            var process = Process.GetCurrentProcess();
            for (int rep = 0; rep < 10; rep++)
            {
                process.Refresh();
                TimeSpan cpu0 = process.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < perRep; i++) bench.Sgemm();
                double wall = sw.Elapsed.TotalSeconds / perRep;
                process.Refresh();
                double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds / perRep;
                bestWall = Math.Min(bestWall, wall);
                if (cpu > 0) bestCpu = Math.Min(bestCpu, cpu);
            }
            return (bestWall, bestCpu == double.MaxValue ? bestWall : bestCpu);
        }
        finally
        {
            bench.Cleanup();
        }
    }
}
