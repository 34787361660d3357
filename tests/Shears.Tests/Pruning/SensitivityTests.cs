using Shears.Nn;
using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class SensitivityTests
{
    /// <summary>A weight of 1000 entries valued 1..1000 and an "accuracy" that is the share of the weight's mass kept.</summary>
    private static (Parameter Weight, Func<double> Accuracy) Synthetic()
    {
        var weight = new Parameter("fc.weight", new Tensor(Enumerable.Range(1, 1000).Select(i => (float)i).ToArray(), 10, 100), prunable: true);
        double total = 1000 * 1001 / 2.0;
        return (weight, () => weight.Value.ReadOnlySpan.ToArray().Sum(v => (double)v) / total);
    }

    [Fact]
    public void The_curve_covers_the_grid_and_the_layer_is_restored_afterwards()
    {
        var (weight, accuracy) = Synthetic();
        var before = weight.Value.ReadOnlySpan.ToArray();
        var ranking = ScoreRanking.Build(before.Select(MathF.Abs).ToArray(), default);
        var curve = Sensitivity.Measure(weight, ranking, accuracy(), accuracy, PruningOptions.DefaultSparsityGrid, refinePasses: 0);

        Assert.Equal(PruningOptions.DefaultSparsityGrid.Count, curve.Points.Count);
        Assert.Equal(PruningOptions.DefaultSparsityGrid, curve.Points.Select(p => Math.Round(p.Sparsity, 6)));
        Assert.Equal(1.0, curve.Points[0].Accuracy, 12);
        Assert.True(curve.Points.Zip(curve.Points.Skip(1)).All(p => p.First.Accuracy > p.Second.Accuracy));
        // Half the smallest weights gone leaves 1 − 500·501/2 / 500500 of the mass.
        Assert.Equal(1 - 500 * 501 / 2.0 / 500500, curve.Points.Single(p => p.Kept == 500).Accuracy, 9);
        Assert.Equal(before, weight.Value.ReadOnlySpan.ToArray());
        Assert.Null(weight.Mask);
    }

    [Fact]
    public void Refinement_inserts_midpoints_where_the_curve_bends_within_the_budget()
    {
        var (weight, accuracy) = Synthetic();
        var ranking = ScoreRanking.Build(weight.Value.ReadOnlySpan.ToArray(), default);
        var coarse = Sensitivity.Measure(weight, ranking, 1.0, accuracy, [0, 0.5, 0.9], refinePasses: 0);
        var fine = Sensitivity.Measure(weight, ranking, 1.0, accuracy, [0, 0.5, 0.9], refinePasses: 2, refineAbove: 0.01, relevantDrop: 0.3);
        Assert.Equal(3, coarse.Points.Count);
        Assert.True(fine.Points.Count > coarse.Points.Count);
        Assert.Contains(fine.Points, p => p.Kept == 750);
        // 50% drops 0.25, within the relevant 0.3, so the gap up to 90% (drop 0.81) is refined once (300 kept);
        // between 70% (drop 0.49) and 90% both ends are past 0.3, so it is not refined again.
        Assert.Contains(fine.Points, p => p.Kept == 300);
        Assert.Contains(fine.Points, p => p.Kept == 400);
        Assert.DoesNotContain(fine.Points, p => p.Kept == 200);
        Assert.True(fine.Points.Zip(fine.Points.Skip(1)).All(p => p.First.Sparsity < p.Second.Sparsity));
    }

    [Fact]
    public void In_later_rounds_the_curve_starts_at_the_current_sparsity()
    {
        var (weight, accuracy) = Synthetic();
        var mask = new float[1000];
        for (int i = 400; i < 1000; i++) mask[i] = 1;
        weight.SetMask(new Tensor(mask, 10, 100));
        var saved = weight.Value.ReadOnlySpan.ToArray();
        var ranking = ScoreRanking.Build(weight.Value.ReadOnlySpan.ToArray(), mask);
        double start = accuracy();
        var curve = Sensitivity.Measure(weight, ranking, start, accuracy, PruningOptions.DefaultSparsityGrid, refinePasses: 0);

        Assert.Equal(0.4, curve.Points[0].Sparsity, 12);
        Assert.Equal(600, curve.Kept);
        Assert.Equal(start, curve.Points[0].Accuracy);
        Assert.All(curve.Points.Skip(1), p => Assert.True(p.Sparsity > 0.4));
        Assert.Equal(saved, weight.Value.ReadOnlySpan.ToArray());
        Assert.Equal(mask, weight.Mask!.ReadOnlySpan.ToArray());
    }
}
