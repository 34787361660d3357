using System.Diagnostics;
using System.Globalization;
using Shears.Nn;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>
/// <c>--layers [model|file.onnx] [batch]</c>: where a training step's time goes, layer by layer. Runs forward and backward
/// over a random batch for a few seconds and prints, per layer, the median milliseconds of its forward and its backward
/// over the step, and the share of the step. It is the "measure" in measure–predict–change–measure for the training
/// loop; the optimizer step and data gathering are not included. The batch runs as training runs it: in chunks of the
/// model's <see cref="Sequential.TrainingChunkSize"/> per kernel thread (each chunk forward then backward, a layer's
/// figure the sum over the chunks), whole for a model without chunks. For a convolutional model a second table times
/// whole steps (<see cref="Sequential.TrainingStep"/>) by training chunk size.
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
        var gradient = new FixedGradient(batch, net.ClassCount, random);
        int chunkSize = net.TrainingChunkLength(batch);
        var f = new double[layers.Count];
        var b = new double[layers.Count];
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < 5 || clock.Elapsed.TotalSeconds < 3; step++)
        {
            Array.Clear(f);
            Array.Clear(b);
            for (int start = 0; start < batch; start += chunkSize)
            {
                var chunk = new BatchChunk(start, Math.Min(chunkSize, batch - start), batch);
                var x = net.TrainingChunkInput(input, chunk);
                for (int l = 0; l < layers.Count; l++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    x = layers[l].Forward(x, training: true);
                    f[l] += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                var g = gradient.Rows(x, chunk);
                for (int l = layers.Count - 1; l >= 0; l--)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    g = layers[l].Backward(g, needInputGradient: l > 0, chunk)!;
                    b[l] += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
            }
            for (int l = 0; l < layers.Count; l++)
            {
                // A fully connected layer writes its weight gradient once the batch's last chunk is in.
                long t0 = Stopwatch.GetTimestamp();
                layers[l].FinishChunks();
                b[l] += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            if (step < 2) continue;
            for (int l = 0; l < layers.Count; l++)
            {
                forward[l].Add(f[l]);
                backward[l].Add(b[l]);
            }
        }
        double total = Enumerable.Range(0, layers.Count).Sum(l => Median(forward[l]) + Median(backward[l]));
        string F(double x) => x.ToString("F2", CultureInfo.InvariantCulture);
        string chunks = chunkSize == batch ? "whole" : $"in chunks of {chunkSize}";
        output.WriteLine($"{model}, batch {batch} {chunks}, {KernelThreads.Max} threads, {forward[0].Count} steps (median ms per step)");
        output.WriteLine("| layer | forward | backward | share |");
        output.WriteLine("|---|---:|---:|---:|");
        for (int l = 0; l < layers.Count; l++)
        {
            double fl = Median(forward[l]), bl = Median(backward[l]);
            output.WriteLine($"| {layers[l].Name} | {F(fl)} | {F(bl)} | {100 * (fl + bl) / total:F0}% |");
        }
        output.WriteLine($"| total | {F(Enumerable.Range(0, layers.Count).Sum(l => Median(forward[l])))} | {F(Enumerable.Range(0, layers.Count).Sum(l => Median(backward[l])))} | {F(total)} ms |");
        if (net.TrainingChunkSize > 0) StepsByChunk(output, net, input, random);
        return 0;
    }

    /// <summary>
    /// The whole step (model forward and backward) by <see cref="Sequential.TrainingChunkSize"/>, every size in
    /// one run and in turn, so their ratios share the machine's state; the chunk sizes give the same bits.
    /// </summary>
    private static void StepsByChunk(TextWriter output, Sequential net, Tensor input, Random random)
    {
        int batch = input.Dim(0), chosen = net.TrainingChunkSize;
        int[] sizes = [0, .. new[] { 8, 16, 24, 32, 48, 64 }.Where(c => c < batch)];
        var times = sizes.Select(_ => new List<double>()).ToArray();
        var loss = new FixedGradient(batch, net.ClassCount, random);
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < 3 || clock.Elapsed.TotalSeconds < 3 * sizes.Length; round++)
        {
            for (int s = 0; s < sizes.Length; s++)
            {
                net.TrainingChunkSize = sizes[s];
                long t0 = Stopwatch.GetTimestamp();
                net.TrainingStep(input, loss);
                if (round >= 1) times[s].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }
        net.TrainingChunkSize = chosen;
        output.WriteLine();
        output.WriteLine($"Whole step by training chunk (the model's default: {chosen}; median ms, {times[0].Count} steps each)");
        output.WriteLine("| chunk | step | against whole |");
        output.WriteLine("|---:|---:|---:|");
        for (int s = 0; s < sizes.Length; s++)
            output.WriteLine($"| {(sizes[s] == 0 ? "whole" : sizes[s].ToString(CultureInfo.InvariantCulture))} | {Median(times[s]):F2} | {Median(times[s]) / Median(times[0]):F2} |");
    }

    /// <summary>A stand-in loss: the same random gradient rows at every step.</summary>
    private sealed class FixedGradient : ChunkedLoss
    {
        private readonly Tensor _gradient;
        private Tensor? _rows;

        public FixedGradient(int batch, int classes, Random random)
        {
            _gradient = new Tensor(batch, classes);
            for (int i = 0; i < _gradient.Length; i++) _gradient.Data[i] = (random.NextSingle() - 0.5f) / batch;
        }

        public override Tensor Rows(Tensor logits, BatchChunk chunk)
        {
            int classes = _gradient.Dim(1);
            var rows = Tensor.Reuse(ref _rows, chunk.Count, classes);
            _gradient.ReadOnlySpan.Slice(chunk.Start * classes, chunk.Count * classes).CopyTo(rows.Span);
            return rows;
        }

        public override double Mean => 0;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
