using System.Diagnostics;
using System.Globalization;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--sparse-conv [batch]</c> and <c>--sparse-linear [batch]</c>: at which density the sparse kernels overtake
/// the dense ones, on CNN-3's conv2 (32 → 64 channels, 14×14, 3×3, 'same') and on FCN-2's fc1 (784 → 300). Prints
/// the median milliseconds of each pass, dense and sparse, at densities from 1% to 60%; the thresholds in
/// <see cref="SparseConvolution"/> and <see cref="SparseLinear"/> are read off these tables.
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

    public static int RunLinear(TextWriter output, int batch)
    {
        const int Inputs = 784, Outputs = 300;
        var random = new Random(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var x = Values(batch * Inputs);
        var dy = Values(batch * Outputs);
        var dense = Values(Outputs * Inputs);
        var bias = Values(Outputs);
        var y = new float[dy.Length];
        var dx = new float[x.Length];
        var dw = new float[dense.Length];
        string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
        double fd = Time(() => Gemm.Multiply(Transpose.No, Transpose.Yes, batch, Outputs, Inputs, x, Inputs, dense, Inputs, y, Outputs));
        double id = Time(() => Gemm.Multiply(Transpose.No, Transpose.No, batch, Inputs, Outputs, dy, Outputs, dense, Inputs, dx, Inputs));
        double wd = Time(() => Gemm.Multiply(Transpose.Yes, Transpose.No, Outputs, Inputs, batch, dy, Outputs, x, Inputs, dw, Inputs));
        output.WriteLine($"fc1 {Inputs}→{Outputs}, batch {batch}, {KernelThreads.Max} threads (median ms per call)");
        output.WriteLine($"dense GEMM: forward {F(fd)}, input gradient {F(id)}, weight gradient {F(wd)}");
        output.WriteLine("| density | forward | input gradient | weight gradient | forward vs dense | input gradient vs dense | weight gradient vs dense |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (double density in new[] { 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6 })
        {
            var keep = dense.Select(_ => random.NextDouble() < density ? 1f : 0f).ToArray();
            var weight = dense.Select((v, i) => v * keep[i]).ToArray();
            double fs = Time(() => SparseLinear.Forward(x, weight, bias, batch, Inputs, Outputs, y));
            double @is = Time(() => SparseLinear.InputGradient(dy, weight, batch, Inputs, Outputs, dx));
            double ws = Time(() => SparseLinear.WeightGradient(dy, x, keep, batch, Inputs, Outputs, dw));
            output.WriteLine($"| {density:P0} | {F(fs)} | {F(@is)} | {F(ws)} | {fs / fd:F2}× | {@is / id:F2}× | {ws / wd:F2}× |");
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
