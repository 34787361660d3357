using System.Diagnostics;
using System.Globalization;
using Shears.Data;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--eval [model|file.onnx] [samples]</c>: inference throughput by forward-pass size. Evaluates the same random
/// samples in forward passes of several sizes and prints milliseconds per 1,000 samples for each, as ratios
/// against the largest: where a large pass's activations spill out of cache, smaller passes win.
/// </summary>
public static class EvaluationBatches
{
    public static int Run(TextWriter output, string model, int samples)
    {
        var net = BenchModel.Load(model);
        int sampleLength = net.InputShape.Aggregate(1, (a, b) => a * b);
        var random = new Random(1);
        var images = new float[samples * sampleLength];
        for (int i = 0; i < images.Length; i++) images[i] = random.NextSingle();
        var labels = Enumerable.Range(0, samples).Select(i => i % net.ClassCount).ToArray();
        var data = new Dataset("random", images, labels, net.InputShape, net.ClassCount);
        int[] sizes = [1000, 256, 128, 64, 32, 16, 8];
        output.WriteLine($"{model}, {samples} samples; the model's own pass size is {net.InferenceBatchSize} (ms per 1,000 samples, median of 5)");
        output.WriteLine("| forward pass | ms | vs 1000 |");
        output.WriteLine("|---:|---:|---:|");
        double? reference = null;
        foreach (int size in sizes)
        {
            var times = new List<double>();
            for (int r = 0; r < 6; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                foreach (var batch in data.InOrder(size, net.InputShape)) net.Forward(batch.Images, training: false);
                if (r > 0) times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds * 1000 / samples);
            }
            times.Sort();
            double ms = times[times.Count / 2];
            reference ??= ms;
            output.WriteLine($"| {size} | {ms.ToString("F2", CultureInfo.InvariantCulture)} | {(ms / reference.Value).ToString("F2", CultureInfo.InvariantCulture)} |");
        }
        return 0;
    }
}
