using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Shears.Benchmarks;

/// <summary>What one invocation of a benchmark does, so columns can turn its time into a rate.</summary>
public interface IWorkload
{
    /// <summary>Floating-point operations per invocation (0 when not meaningful).</summary>
    double Flops { get; }

    /// <summary>Bytes read plus written per invocation (0 when not meaningful).</summary>
    double Bytes { get; }

    /// <summary>Threads the kernel may use (for %Peak).</summary>
    int Threads { get; }
}

/// <summary>GFLOP/s, % of peak and GB/s columns, computed from the mean time and the case's <see cref="IWorkload"/>.</summary>
public sealed class ThroughputColumn : IColumn
{
    public enum Kind { GflopsPerSecond, PercentOfPeak, GigabytesPerSecond }

    private readonly Kind _kind;
    private readonly MachinePeak _machine;

    public ThroughputColumn(Kind kind, MachinePeak machine)
    {
        _kind = kind;
        _machine = machine;
    }

    public string Id => "Shears." + _kind;

    public string ColumnName => _kind switch
    {
        Kind.GflopsPerSecond => "GFLOP/s",
        Kind.PercentOfPeak => "%Peak",
        _ => "GB/s",
    };

    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => (int)_kind;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => _kind switch
    {
        Kind.GflopsPerSecond => "Billions of floating-point operations per second (2·m·n·k per GEMM) from the mean time",
        Kind.PercentOfPeak => $"GFLOP/s as a share of threads × {_machine.PerCoreGflops:F1} GFLOP/s (per-core peak at the measured clock)",
        _ => "Gigabytes read and written per second from the mean time",
    };

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var work = benchmarkCase.Parameters.Items.Select(p => p.Value).OfType<IWorkload>().FirstOrDefault();
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (work is null || meanNs is not > 0) return "-";
        double value = _kind switch
        {
            Kind.GflopsPerSecond => work.Flops / meanNs.Value,
            Kind.PercentOfPeak => 100 * work.Flops / meanNs.Value / (_machine.PerCoreGflops * Math.Max(1, work.Threads)),
            _ => work.Bytes / meanNs.Value,
        };
        bool meaningful = _kind == Kind.GigabytesPerSecond ? work.Bytes > 0 : work.Flops > 0;
        return meaningful ? value.ToString(_kind == Kind.PercentOfPeak ? "F0" : "F1", CultureInfo.InvariantCulture) : "-";
    }

    public override string ToString() => ColumnName;
}
