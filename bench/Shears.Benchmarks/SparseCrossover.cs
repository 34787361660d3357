using System.Diagnostics;
using System.Globalization;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--sparse-conv [batch]</c> and <c>--sparse-linear [batch]</c>: at which density the sparse kernels overtake
/// the dense ones, on CNN-3's conv2 (32 → 64 channels, 14×14, 3×3, 'same') and conv1 (1 → 32 channels, 28×28), and
/// on FCN-2's fc1 (784 → 300). Prints the median milliseconds of each pass, dense and sparse, at densities from 1%
/// to 60% (to 100% for the convolutions); the thresholds in
/// <see cref="SparseConvolution"/> and <see cref="SparseLinear"/> are read off these tables.
/// </summary>
public static class SparseCrossover
{
    private const int Kernel = 3, Padding = 1;

    public static int Run(TextWriter output, int batch)
    {
        // CNN-3's conv2, then its conv1: one input channel makes a column matrix of only 9 rows, which the GEMM
        // handles poorly, so the crossover differs with the geometry.
        Run(output, batch, "conv2", 32, 64, 14);
        output.WriteLine();
        Run(output, batch, "conv1", 1, 32, 28);
        return 0;
    }

    private static void Run(TextWriter output, int batch, string name, int inChannels, int outChannels, int size)
    {
        var random = new Random(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var x = Values(batch * inChannels * size * size);
        var dy = Values(batch * outChannels * size * size);
        var dense = Values(outChannels * inChannels * Kernel * Kernel);
        var bias = Values(outChannels);
        var y = new float[dy.Length];
        var dx = new float[x.Length];
        var dw = new float[dense.Length];
        var db = new float[outChannels];

        string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        // The dense passes called with no mask (the weight gradient) and a full filter always take im2col and GEMM.
        double fd = Time(() => Convolution.Forward(x, dense, bias, y, batch, inChannels, size, size, outChannels, Kernel, Padding, 1));
        double id = Time(() => Convolution.InputGradient(dy, dense, dx, batch, inChannels, size, size, outChannels, Kernel, Padding, 1));
        double wd = Time(() => Convolution.WeightGradient(x, dy, dw, db, batch, inChannels, size, size, outChannels, Kernel, Padding, 1));
        output.WriteLine($"{name} {inChannels}→{outChannels} {size}×{size} 3×3, batch {batch}, {KernelThreads.Max} threads (median ms per call)");
        output.WriteLine($"dense im2col + GEMM: forward {F(fd)}, input gradient {F(id)}, weight gradient {F(wd)}");
        output.WriteLine("| density | forward | input gradient | weight gradient | forward + input gradient vs dense | weight gradient vs dense |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (double density in new[] { 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0 })
        {
            var keep = dense.Select(_ => random.NextDouble() < density ? 1f : 0f).ToArray();
            var weight = dense.Select((v, i) => v * keep[i]).ToArray();
            double fs = Time(() => SparseConvolution.Forward(x, weight, bias, y, batch, inChannels, size, size, outChannels, Kernel, Padding));
            double @is = Time(() => SparseConvolution.InputGradient(dy, weight, dx, batch, inChannels, size, size, outChannels, Kernel, Padding));
            double ws = Time(() => SparseConvolution.WeightGradient(x, dy, keep, dw, db, batch, inChannels, size, size, outChannels, Kernel, Padding));
            output.WriteLine($"| {density:P0} | {F(fs)} | {F(@is)} | {F(ws)} | {(fs + @is) / (fd + id):F2}× | {ws / wd:F2}× |");
        }
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
