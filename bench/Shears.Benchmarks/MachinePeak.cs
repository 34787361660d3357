using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shears.Benchmarks;

/// <summary>
/// The machine's single-precision peak: cores × FMA pipes × lanes per vector × 2 flops × clock.
/// Assumptions, stated in <see cref="Describe"/>: two FMA pipes per core (true of AMD Zen 4/5 and Intel
/// server cores), vector width from Vector512/Vector256 acceleration. The clock is reported two ways: the
/// "cpu MHz" line of /proc/cpuinfo (under a hypervisor usually the nominal base clock) and an effective
/// clock measured here from a dependent chain of integer adds (one per cycle), which sees turbo.
/// </summary>
public sealed class MachinePeak
{
    public const int FmaPipes = 2;

    public int Cores { get; init; }
    public int Lanes { get; init; }
    public double CpuInfoGHz { get; init; }
    public double MeasuredGHz { get; init; }
    public string Model { get; init; } = "unknown CPU";

    /// <summary>Peak GFLOP/s of one core at the measured clock (the conservative basis for %Peak).</summary>
    public double PerCoreGflops => FmaPipes * Lanes * 2 * MeasuredGHz;

    public double PerCoreGflopsAtCpuInfoClock => FmaPipes * Lanes * 2 * CpuInfoGHz;

    public static MachinePeak Detect()
    {
        double mhz = 0;
        string model = "unknown CPU";
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("cpu MHz", StringComparison.Ordinal))
                    mhz = Math.Max(mhz, double.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture));
                else if (line.StartsWith("model name", StringComparison.Ordinal))
                    model = line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return new MachinePeak
        {
            Cores = Environment.ProcessorCount,
            Lanes = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4,
            CpuInfoGHz = mhz / 1000,
            MeasuredGHz = MeasureClockGHz(),
            Model = model,
        };
    }

    public string Describe()
    {
        string I(double x) => x.ToString("F1", CultureInfo.InvariantCulture);
        return $"Machine: {Model}, {Cores} cores, {Lanes}-lane float vectors, {FmaPipes} FMA pipes/core (assumed; Zen 5 has 2×512-bit).\n" +
               $"  Clock: /proc/cpuinfo 'cpu MHz' {I(CpuInfoGHz * 1000)} MHz; measured effective {I(MeasuredGHz * 1000)} MHz (dependent add chain).\n" +
               $"  Peak at the cpuinfo clock: {I(PerCoreGflopsAtCpuInfoClock)} GFLOP/s per core, {I(PerCoreGflopsAtCpuInfoClock * Cores)} for all {Cores}.\n" +
               $"  Peak at the measured clock: {I(PerCoreGflops)} GFLOP/s per core, {I(PerCoreGflops * Cores)} for all {Cores}  (%Peak uses this, per thread used).";
    }

    /// <summary>
    /// Runs a chain of dependent adds (1 cycle each) and takes the best of several tries, timed by the thread's
    /// own CPU time where the OS offers it, so other processes competing for the cores do not lower the figure.
    /// </summary>
    private static double MeasureClockGHz()
    {
        const long n = 50_000_000;
        double best = 0;
        Chain(1_000_000, 1);
        for (int i = 0; i < 9; i++)
        {
            double cpu0 = ThreadCpuSeconds();
            var sw = Stopwatch.StartNew();
            long x = Chain(n, i);
            double s = sw.Elapsed.TotalSeconds;
            double cpu = ThreadCpuSeconds() - cpu0;
            GC.KeepAlive(x);
            if (cpu > 0) s = Math.Min(s, cpu);
            best = Math.Max(best, 8.0 * n / s / 1e9);
        }
        return best;
    }

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>CPU time of the calling thread in seconds, or 0 where CLOCK_THREAD_CPUTIME_ID is unavailable.</summary>
    private static double ThreadCpuSeconds()
    {
        const int ClockThreadCpuTime = 3;
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            return ClockGetTime(ClockThreadCpuTime, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : 0;
        }
        catch (DllNotFoundException) { return 0; }
        catch (EntryPointNotFoundException) { return 0; }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Chain(long n, long x)
    {
        // Eight dependent single-cycle ALU operations per iteration; the loop counter runs in parallel.
        for (long i = 0; i < n; i++)
        {
            x += i; x ^= 3; x += i; x ^= 5; x += i; x ^= 7; x += i; x ^= 9;
        }
        return x;
    }
}
