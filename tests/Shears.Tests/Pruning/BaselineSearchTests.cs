using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class BaselineSearchTests
{
    private static ScoreRanking[] RandomRankings(Random rng, params int[] sizes) =>
        sizes.Select(n => ScoreRanking.Build(Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble(), 2)).ToArray(), default)).ToArray();

    [Fact]
    public void A_global_prefix_is_one_threshold_for_every_layer()
    {
        var rng = new Random(21);
        var rankings = RandomRankings(rng, 300, 50, 1000);
        var order = new BaselineSearch.GlobalOrder(rankings);
        foreach (long keep in new long[] { 0, 1, 100, 675, 1349, 1350 })
        {
            var counts = order.KeepCounts(keep);
            Assert.Equal(keep, counts.Sum());
            float lowestKept = float.PositiveInfinity, highestPruned = float.NegativeInfinity;
            for (int l = 0; l < rankings.Length; l++)
            {
                var mask = rankings[l].MaskKeeping(counts[l]);
                for (int i = 0; i < mask.Length; i++)
                    if (mask[i] == 1) lowestKept = Math.Min(lowestKept, rankings[l].Scores[i]);
                    else highestPruned = Math.Max(highestPruned, rankings[l].Scores[i]);
            }
            Assert.True(lowestKept >= highestPruned, $"keep {keep}: a kept score {lowestKept} is below a pruned one {highestPruned}");
            if (keep < 1350) Assert.Equal(highestPruned, (float)order.ThresholdFor(keep));
        }
    }

    [Fact]
    public void Uniform_sparsity_at_a_kept_total_hits_it_exactly_and_shares_it_by_size()
    {
        var rng = new Random(22);
        var rankings = RandomRankings(rng, 7840, 301, 99, 10);
        foreach (long keep in new long[] { 0, 1, 17, 823, 4125, 8249, 8250 })
        {
            var counts = BaselineSearch.UniformKeepCounts(rankings, keep);
            Assert.Equal(keep, counts.Sum());
            for (int l = 0; l < rankings.Length; l++)
                Assert.True(Math.Abs(counts[l] - keep * (double)rankings[l].Count / 8250) <= 1, $"keep {keep}: layer {l} keeps {counts[l]}");
        }
    }

    [Fact]
    public void Uniform_sparsity_at_a_kept_total_respects_layers_already_sparser()
    {
        var mask = new float[100];
        for (int i = 0; i < 10; i++) mask[i] = 1;
        var rankings = new[] { ScoreRanking.Build(new float[100], mask), ScoreRanking.Build(new float[100], default) };
        var counts = BaselineSearch.UniformKeepCounts(rankings, 60);
        Assert.Equal(new[] { 10, 50 }, counts);
    }

    [Fact]
    public void Bisection_finds_the_largest_feasible_step_on_a_step_function()
    {
        int calls = 0;
        double found = BaselineSearch.LargestFeasible(x => { calls++; return x <= 0.7312; }, 0, 0.995, iterations: 14);
        Assert.InRange(found, 0.7312 - 0.995 / 16384 * 1.01, 0.7312);
        Assert.Equal(15, calls);
        Assert.Equal(0.995, BaselineSearch.LargestFeasible(_ => true, 0, 0.995));
        Assert.Equal(0.3, BaselineSearch.LargestFeasible(_ => false, 0.3, 0.995));
    }
}
