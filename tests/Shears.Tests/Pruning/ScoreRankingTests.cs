using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class ScoreRankingTests
{
    [Fact]
    public void A_mask_keeps_exactly_the_top_k_by_score()
    {
        var rng = new Random(5);
        var scores = Enumerable.Range(0, 1001).Select(_ => (float)rng.NextDouble()).ToArray();
        var ranking = ScoreRanking.Build(scores, default);
        foreach (int keep in new[] { 0, 1, 2, 500, 999, 1000, 1001 })
        {
            var mask = ranking.MaskKeeping(keep);
            Assert.Equal(keep, mask.Count(m => m == 1f));
            Assert.All(mask, m => Assert.True(m is 0f or 1f));
            float lowestKept = scores.Where((_, i) => mask[i] == 1f).DefaultIfEmpty(float.PositiveInfinity).Min();
            float highestPruned = scores.Where((_, i) => mask[i] == 0f).DefaultIfEmpty(float.NegativeInfinity).Max();
            Assert.True(lowestKept >= highestPruned, $"keep {keep}: kept {lowestKept} below pruned {highestPruned}");
            if (keep < 1001) Assert.Equal(highestPruned, (float)ranking.ThresholdFor(keep));
        }
    }

    [Fact]
    public void Ties_are_broken_by_index_so_the_lower_index_stays()
    {
        var scores = new float[] { 1, 2, 2, 2, 0, 2, -0f, 0 };
        var ranking = ScoreRanking.Build(scores, default);
        Assert.Equal(new[] { 1, 2, 3, 5, 0, 4, 6, 7 }, ranking.Order.ToArray());
        Assert.Equal(new float[] { 0, 1, 1, 0, 0, 0, 0, 0 }, ranking.MaskKeeping(2));
        Assert.Equal(ranking.Order.ToArray(), ScoreRanking.Build(scores, default).Order.ToArray());
    }

    [Fact]
    public void Already_pruned_entries_stay_pruned_however_high_they_score()
    {
        var scores = new float[] { 9, 1, 8, 2, 7, 3 };
        var current = new float[] { 0, 1, 0, 1, 1, 1 };
        var ranking = ScoreRanking.Build(scores, current);
        Assert.Equal(6, ranking.Count);
        Assert.Equal(4, ranking.Kept);
        Assert.Equal(new float[] { 0, 0, 0, 1, 1, 1 }, ranking.MaskKeeping(3));
        Assert.Equal(new float[] { 0, 1, 0, 1, 1, 1 }, ranking.MaskKeeping(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ranking.MaskKeeping(5));
        // A sparsity counts the already-pruned entries: 0% asks for all six but only four are left.
        Assert.Equal(4, ranking.KeepFor(0));
        Assert.Equal(3, ranking.KeepFor(0.5));
        Assert.Equal(0, ranking.KeepFor(0.95));
    }

    [Fact]
    public void Kept_counts_round_to_the_nearest_whole_connection()
    {
        var ranking = ScoreRanking.Build(new float[10], default);
        Assert.Equal(8, ranking.KeepFor(0.2));
        Assert.Equal(1, ranking.KeepFor(0.95));
        Assert.Equal(0, ranking.KeepFor(0.96));
        Assert.Equal(10, ranking.KeepFor(0));
    }

    [Fact]
    public void Negative_scores_rank_below_positive_ones_and_NaN_is_never_pruned_first()
    {
        var scores = new float[] { -1, float.NaN, 0.5f, -3, 2 };
        var ranking = ScoreRanking.Build(scores, default);
        Assert.Equal(new[] { 1, 4, 2, 0, 3 }, ranking.Order.ToArray());
    }

    [Fact]
    public void A_mask_of_the_wrong_length_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => ScoreRanking.Build(new float[4], new float[3]));
    }
}
