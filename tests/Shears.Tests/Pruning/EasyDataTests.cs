using Shears.Data;
using Shears.Nn;
using Shears.Pruning;
using Shears.Training;

namespace Shears.Tests.Pruning;

/// <summary>
/// Data so easy that every layer alone keeps its accuracy at the grid's sparsest point: an allocation that trusts
/// the drops measured one layer at a time sends every layer there together, and the combined network collapses.
/// The pruner must find the step the combined network can take, not end with nothing pruned.
/// </summary>
public sealed class EasyDataTests
{
    /// <summary>A 3-class set of 8×8 images: each class a bright band in its own rows over faint noise (a copy of the CLI tests' generator, labels clean).</summary>
    internal static Dataset Bands(int count, int seed)
    {
        var rng = new Random(seed);
        var images = new float[count * 64];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            labels[n] = n % 3;
            for (int p = 0; p < 64; p++)
            {
                bool band = p / 8 / 3 == n % 3;
                images[n * 64 + p] = (band ? 180 + rng.Next(60) : rng.Next(60)) / 255f;
            }
        }
        return new Dataset($"bands{seed}", images, labels, [1, 8, 8], 3);
    }

    private static Sequential Trained(Dataset train)
    {
        var model = new Sequential("bands-mlp", [1, 8, 8],
            new Flatten("flatten"), new Linear("fc1", 64, 48), new Relu("relu1"), new Linear("fc2", 48, 3));
        Initializer.HeUniform(model, seed: 5);
        new Trainer(model, new TrainingOptions { Epochs = 5, BatchSize = 16, Seed = 5 }).Train(train);
        return model;
    }

    [Theory]
    [InlineData(0.5, null)]
    [InlineData(null, 0.9)]
    public void Every_layer_tolerating_the_sparsest_point_alone_still_prunes_inside_the_range(double? maxDrop, double? minAccuracy)
    {
        var train = Bands(600, 1);
        var validation = Bands(150, 2);
        var test = Bands(150, 3);
        var model = Trained(train);
        double original = Evaluator.Evaluate(model, validation).Accuracy;
        Assert.True(original >= 0.99, $"The bands should be learnt, got {original}.");

        var report = new BudgetPruner(new PruningOptions(new AccuracyRange(minAccuracy, maxDrop)) { RelearnEpochs = 1, Rounds = 3, RefinePasses = 1 })
            .Prune(model, train, validation, test);

        // Each layer alone tolerates 90% sparsity with at most a point lost, the trap the allocation falls into.
        Assert.All(report.Sensitivity.Values, c => Assert.Contains(c, p => p.Sparsity >= 0.9 && p.Accuracy >= original - 0.01));
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal / 2, $"Kept {report.ConnectionsKept} of {report.ConnectionsTotal}: easy data should prune more than half.");
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
        Assert.Equal(Evaluator.Evaluate(model, validation).Accuracy, report.Pruned.ValidationAccuracy);
        Assert.Contains(report.Rounds, r => r.Accepted);
        Assert.All(report.Rounds.Where(r => r.Accepted), r => Assert.InRange(r.Interpolation, 0, 1));
    }
}
