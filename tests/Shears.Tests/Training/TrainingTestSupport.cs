using Shears.Data;
using Shears.Nn;
using Shears.Training;

namespace Shears.Tests.Training;

/// <summary>Small synthetic data, a tiny model, bitwise weight comparison and a temporary folder for the training tests.</summary>
internal static class TrainingTestSupport
{
    public static readonly int[] SampleShape = [1, 4, 4];
    public const int Classes = 4;

    /// <summary>
    /// Four well separated classes: each sample is its class's fixed random prototype (the same for every seed) plus
    /// uniform noise. <paramref name="seed"/> picks the noise and labels, so two seeds give a train and a test set.
    /// </summary>
    public static Dataset Synthetic(int count, int seed, string name = "synthetic", double noise = 0.6)
    {
        var prototypes = new Random(1234);
        var centres = new float[Classes][];
        for (int c = 0; c < Classes; c++)
            centres[c] = Enumerable.Range(0, 16).Select(_ => (float)(prototypes.NextDouble() * 2 - 1)).ToArray();
        var rng = new Random(seed);
        var images = new float[count * 16];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = rng.Next(Classes);
            labels[i] = label;
            for (int j = 0; j < 16; j++) images[i * 16 + j] = centres[label][j] + (float)((rng.NextDouble() * 2 - 1) * noise);
        }
        return new Dataset(name, images, labels, SampleShape, Classes);
    }

    public static Sequential Fcn(int initSeed, int hidden = 12)
    {
        var model = new Sequential("fcn", SampleShape,
            new Flatten("flatten"), new Linear("fc1", 16, hidden), new Relu("relu1"), new Linear("fc2", hidden, Classes));
        Initializer.HeUniform(model, initSeed);
        return model;
    }

    /// <summary>Every parameter value as its bit pattern, so comparisons are exact (−0 ≠ +0, NaN payloads count).</summary>
    public static int[] WeightBits(Sequential model) =>
        model.Parameters.SelectMany(p => p.Value.ReadOnlySpan.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>A checkerboard mask (ones where row + column is even).</summary>
    public static Tensor Checkerboard(int rows, int columns)
    {
        var mask = new Tensor(rows, columns);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                mask[r, c] = (r + c) % 2 == 0 ? 1f : 0f;
        return mask;
    }
}

/// <summary>Calls back on the reporting thread at once (unlike Progress&lt;T&gt;, which posts to the thread pool).</summary>
internal sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "shears-training-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
