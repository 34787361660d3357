using Shears.Data;
using Shears.Nn;
using Shears.Pruning;
using Shears.Tests.TestSupport;
using Shears.Training;

namespace Shears.Tests.Pruning;

/// <summary>
/// A small real case shared by the pruning tests: MNIST (the repository's shared copy) cut to 5000 training,
/// 1000 validation and 1000 test images, and a 784→64→10 network trained on it for two epochs. Built once per
/// test run; each test gets a fresh model restored from the trained state, so tests may prune it freely.
/// </summary>
internal static class PruningTestSupport
{
    private static readonly Lazy<Data> s_data = new(Load);
    private static readonly Lazy<ModelState> s_trained = new(TrainSmall);

    public sealed record Data(Dataset Train, Dataset Validation, Dataset Test);

    public static Data Mnist => s_data.Value;

    /// <summary>A fresh copy of the trained 784→64→10 network.</summary>
    public static Sequential TrainedSmall()
    {
        var model = Small();
        s_trained.Value.Restore(model);
        return model;
    }

    public static Sequential Small() => new("small", [1, 28, 28],
        new Flatten("flatten"), new Linear("fc1", 784, 64), new Relu("relu1"), new Linear("fc2", 64, 10));

    private static Data Load()
    {
        var splits = ImageClassificationFolder.Load(DataSharedFiles.MnistFolder, "mnist", 10);
        return new Data(splits.Train.Take(5000), splits.Train.Slice(55_000, 1000), splits.Test.Take(1000));
    }

    private static ModelState TrainSmall()
    {
        var model = Small();
        Initializer.HeUniform(model, seed: 3);
        new Trainer(model, new TrainingOptions { Epochs = 2, BatchSize = 64, Seed = 3 }).Train(Mnist.Train);
        return model.Snapshot();
    }

    /// <summary>A monotone synthetic curve: drops grow with sparsity, steeply past a random knee.</summary>
    public static SensitivityCurve RandomCurve(Random rng, string name, bool strictlyDecreasing = true)
    {
        long connections = rng.Next(100, 100_000);
        double knee = 0.4 + 0.55 * rng.NextDouble();
        double scale = 0.001 + 0.05 * rng.NextDouble();
        double baseAccuracy = 0.9 + 0.09 * rng.NextDouble();
        var points = new List<SensitivityPoint> { new(0, connections, baseAccuracy) };
        double drop = 0;
        long lastKept = connections;
        foreach (double s in PruningOptions.DefaultSparsityGrid.Skip(1))
        {
            long kept = (long)Math.Round((1 - s) * connections);
            if (kept >= lastKept) continue;
            double slope = s < knee ? 0.05 : 1.0;
            drop += scale * slope * rng.NextDouble() + (strictlyDecreasing ? 1e-6 : 0);
            points.Add(new SensitivityPoint(1 - (double)kept / connections, kept, baseAccuracy - drop));
            lastKept = kept;
        }
        return new SensitivityCurve(name, connections, connections, baseAccuracy, points);
    }

    public static IReadOnlyList<SensitivityCurve> RandomCurves(Random rng, int layers) =>
        Enumerable.Range(0, layers).Select(l => RandomCurve(rng, $"layer{l}.weight")).ToArray();
}

/// <summary>A re-learning seam that runs a given action instead of training.</summary>
internal sealed class ScriptedRelearner(Action<int, Sequential> onRound) : IRelearner
{
    public int Calls { get; private set; }

    /// <summary>The epochs each call was asked for.</summary>
    public List<int> Epochs { get; } = [];

    /// <summary>The options each call was given.</summary>
    public List<TrainingOptions> Options { get; } = [];

    public void Relearn(Sequential model, Dataset train, TrainingOptions options, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        // Baselines may re-learn side by side.
        lock (Epochs)
        {
            Epochs.Add(options.Epochs);
            Options.Add(options);
            onRound(++Calls, model);
        }
    }
}
