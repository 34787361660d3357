using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Shears.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project bench/Shears.Benchmarks -- --filter '*Gemm*'</c>
/// (add <c>--job short</c> for a quick pass, <c>--layers [model] [batch]</c> for a per-layer training-step profile (and, for a convolutional model, the whole step by training chunk size), <c>--eval [model] [samples]</c> for inference speed by forward-pass size, <c>--sparse-conv [batch]</c> or <c>--sparse-linear [batch]</c> for where the sparse kernels overtake dense, or <c>--quick [name]</c> for a seconds-long GEMM table without
/// BenchmarkDotNet that also reports GFLOP per CPU-second, robust on a shared machine). Prints the machine's peak before and after the run; the
/// GFLOP/s and %Peak columns compare each result with it.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var machine = MachinePeak.Detect();
        Console.WriteLine(machine.Describe());
        int layers = Array.IndexOf(args, "--layers");
        if (layers >= 0)
            return LayerProfile.Run(Console.Out, layers + 1 < args.Length ? args[layers + 1] : "cnn3",
                layers + 2 < args.Length ? int.Parse(args[layers + 2], System.Globalization.CultureInfo.InvariantCulture) : 128);
        int eval = Array.IndexOf(args, "--eval");
        if (eval >= 0)
            return EvaluationBatches.Run(Console.Out, eval + 1 < args.Length ? args[eval + 1] : "cnn3",
                eval + 2 < args.Length ? int.Parse(args[eval + 2], System.Globalization.CultureInfo.InvariantCulture) : 4000);
        int sparse = Array.IndexOf(args, "--sparse-conv");
        if (sparse >= 0)
            return SparseCrossover.Run(Console.Out, sparse + 1 < args.Length ? int.Parse(args[sparse + 1], System.Globalization.CultureInfo.InvariantCulture) : 128);
        int sparseLinear = Array.IndexOf(args, "--sparse-linear");
        if (sparseLinear >= 0)
            return SparseCrossover.RunLinear(Console.Out, sparseLinear + 1 < args.Length ? int.Parse(args[sparseLinear + 1], System.Globalization.CultureInfo.InvariantCulture) : 128);
        int quick = Array.IndexOf(args, "--quick");
        if (quick >= 0)
            return QuickGemm.Run(machine, Console.Out, quick + 1 < args.Length ? args[quick + 1] : null);
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(48))
            .AddColumn(new ThroughputColumn(ThroughputColumn.Kind.GflopsPerSecond, machine))
            .AddColumn(new ThroughputColumn(ThroughputColumn.Kind.PercentOfPeak, machine))
            .AddColumn(new ThroughputColumn(ThroughputColumn.Kind.GigabytesPerSecond, machine));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        Console.WriteLine();
        Console.WriteLine(machine.Describe());
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }
}
