using System.Diagnostics;
using System.Globalization;
using Shears.Nn;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--layers [model|file.onnx] [batch]</c>: where a training step's time goes, layer by layer. Runs forward and backward
/// over a random batch for a couple of seconds and prints, per layer, the median milliseconds of its forward
/// and its backward, and the share of the step. It is the "measure" in measure–predict–change–measure for
/// the training loop; the optimizer step and data gathering are not included.
/// </summary>
public static class LayerProfile
{
    public static int Run(TextWriter output, string model, int batch)
    {
        var net = BenchModel.Load(model);
        var random = new Random(1);
        var input = new Tensor([batch, .. net.InputShape]);
        for (int i = 0; i < input.Length; i++) input.Data[i] = random.NextSingle();
        var layers = net.ExecutionOrder;   // as Sequential runs them
        var forward = layers.Select(_ => new List<double>()).ToArray();
        var backward = layers.Select(_ => new List<double>()).ToArray();
        var outputs = new Tensor[layers.Count];
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < 5 || clock.Elapsed.TotalSeconds < 3; step++)
        {
            var x = input;
            for (int l = 0; l < layers.Count; l++)
            {
                long t0 = Stopwatch.GetTimestamp();
                x = layers[l].Forward(x, training: true);
                if (step >= 2) forward[l].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                outputs[l] = x;
            }
            var g = new Tensor(x.Shape.ToArray());
            for (int i = 0; i < g.Length; i++) g.Data[i] = (random.NextSingle() - 0.5f) / batch;
            for (int l = layers.Count - 1; l >= 0; l--)
            {
                long t0 = Stopwatch.GetTimestamp();
                g = layers[l].Backward(g, needInputGradient: l > 0)!;
                if (step >= 2) backward[l].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }
        static double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
        double total = Enumerable.Range(0, layers.Count).Sum(l => Median(forward[l]) + Median(backward[l]));
        string F(double x) => x.ToString("F2", CultureInfo.InvariantCulture);
        output.WriteLine($"{model}, batch {batch}, {KernelThreads.Max} threads, {forward[0].Count} steps (median ms per call)");
        output.WriteLine("| layer | forward | backward | share |");
        output.WriteLine("|---|---:|---:|---:|");
        for (int l = 0; l < layers.Count; l++)
        {
            double f = Median(forward[l]), b = Median(backward[l]);
            output.WriteLine($"| {layers[l].Name} | {F(f)} | {F(b)} | {100 * (f + b) / total:F0}% |");
        }
        output.WriteLine($"| total | {F(Enumerable.Range(0, layers.Count).Sum(l => Median(forward[l])))} | {F(Enumerable.Range(0, layers.Count).Sum(l => Median(backward[l])))} | {F(total)} ms |");
        return 0;
    }
}
