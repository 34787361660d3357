using System.Diagnostics;
using System.Globalization;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--sparse-conv [batch]</c>: at which density the sparse convolution kernels overtake im2col and GEMM, on
/// CNN-3's conv2 (32 → 64 channels, 14×14, 3×3, 'same'). Prints the median milliseconds of each pass, dense and
/// sparse, at densities from 1% to 60%; <see cref="SparseConvolution.ForwardDensity"/> and
/// <see cref="SparseConvolution.WeightGradientDensity"/> are read off this table.
/// </summary>
public static class SparseCrossover
{
    private const int In = 32, Out = 64, Size = 14, Kernel = 3, Padding = 1;

    public static int Run(TextWriter output, int batch)
    {
        var random = new Random(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var x = Values(batch * In * Size * Size);
        var dy = Values(batch * Out * Size * Size);
        var dense = Values(Out * In * Kernel * Kernel);
        var bias = Values(Out);
        var y = new float[dy.Length];
        var dx = new float[x.Length];
        var dw = new float[dense.Length];
        var db = new float[Out];
        var all = Enumerable.Repeat(1f, dense.Length).ToArray();

        string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        double fd = Time(() => Convolution.Forward(x, dense, bias, y, batch, In, Size, Size, Out, Kernel, Padding, 1));
        double id = Time(() => Convolution.InputGradient(dy, dense, dx, batch, In, Size, Size, Out, Kernel, Padding, 1));
        double wd = Time(() => Convolution.WeightGradient(x, dy, dw, db, batch, In, Size, Size, Out, Kernel, Padding, 1, all));
        output.WriteLine($"conv2 {In}→{Out} {Size}×{Size} 3×3, batch {batch}, {KernelThreads.Max} threads (median ms per call)");
        output.WriteLine($"dense im2col + GEMM: forward {F(fd)}, input gradient {F(id)}, weight gradient {F(wd)}");
        output.WriteLine("| density | forward | input gradient | weight gradient | forward + input gradient vs dense | weight gradient vs dense |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (double density in new[] { 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6 })
        {
            var keep = dense.Select(_ => random.NextDouble() < density ? 1f : 0f).ToArray();
            var weight = dense.Select((v, i) => v * keep[i]).ToArray();
            double fs = Time(() => SparseConvolution.Forward(x, weight, bias, y, batch, In, Size, Size, Out, Kernel, Padding));
            double @is = Time(() => SparseConvolution.InputGradient(dy, weight, dx, batch, In, Size, Size, Out, Kernel, Padding));
            double ws = Time(() => SparseConvolution.WeightGradient(x, dy, keep, dw, db, batch, In, Size, Size, Out, Kernel, Padding));
            output.WriteLine($"| {density:P0} | {F(fs)} | {F(@is)} | {F(ws)} | {(fs + @is) / (fd + id):F2}× | {ws / wd:F2}× |");
        }
        return 0;
    }

    private static double Time(Action action)
    {
        for (int i = 0; i < 3; i++) action();
        var samples = new List<double>();
        var clock = Stopwatch.StartNew();
        while (samples.Count < 10 || clock.Elapsed.TotalSeconds < 0.5)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            samples.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }
}
