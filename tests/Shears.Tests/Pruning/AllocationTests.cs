using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class AllocationTests
{
    private static readonly IBudgetAllocator[] s_allocators = [new SensitivityAllocator(), new UniformAllocator(), new SizeAllocator()];

    private static long Removed(IReadOnlyList<SensitivityCurve> curves, IReadOnlyList<LayerAllocation> a) =>
        curves.Select((c, i) => c.Kept - a[i].Kept).Sum();

    [Fact]
    public void No_budget_allocation_ever_exceeds_the_budget_on_random_monotone_curves()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 300; trial++)
        {
            var curves = PruningTestSupport.RandomCurves(rng, rng.Next(1, 7));
            double budget = rng.NextDouble() * 0.05;
            foreach (var allocator in s_allocators)
            {
                var allocation = allocator.Allocate(curves, budget);
                Assert.Equal(curves.Count, allocation.Count);
                double spent = 0;
                for (int l = 0; l < curves.Count; l++)
                {
                    var point = curves[l].Points.SingleOrDefault(p => p.Kept == allocation[l].Kept);
                    Assert.True(point is not null || allocation[l].Kept == curves[l].Kept, $"{allocator.Kind} chose an unmeasured point in trial {trial}.");
                    double drop = point is null ? 0 : Math.Max(0, curves[l].Drop(point));
                    Assert.Equal(drop, allocation[l].ExpectedDrop, 12);
                    Assert.True(drop <= allocation[l].Share + 1e-12, $"{allocator.Kind}: layer {l} drops {drop} past its share {allocation[l].Share}.");
                    spent += drop;
                }
                Assert.True(spent <= budget + 1e-9, $"{allocator.Kind} spent {spent} of a budget of {budget} in trial {trial}.");
                Assert.True(allocation.Sum(a => a.Share) <= budget + 1e-9, $"{allocator.Kind} handed out shares past the budget in trial {trial}.");
            }
        }
    }

    [Fact]
    public void Sensitivity_removes_at_least_as_many_connections_as_uniform_and_size_on_every_curve_set()
    {
        var rng = new Random(12);
        int strictlyBetter = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var curves = PruningTestSupport.RandomCurves(rng, rng.Next(1, 7));
            double budget = rng.NextDouble() * 0.05;
            long sensitivity = Removed(curves, new SensitivityAllocator().Allocate(curves, budget));
            long uniform = Removed(curves, new UniformAllocator().Allocate(curves, budget));
            long size = Removed(curves, new SizeAllocator().Allocate(curves, budget));
            Assert.True(sensitivity >= uniform, $"trial {trial}: sensitivity removed {sensitivity}, uniform {uniform}.");
            Assert.True(sensitivity >= size, $"trial {trial}: sensitivity removed {sensitivity}, size {size}.");
            if (sensitivity > Math.Max(uniform, size)) strictlyBetter++;
        }
        Assert.True(strictlyBetter > 100, $"Sensitivity beat both proportional shares in only {strictlyBetter} of 300 trials.");
    }

    [Fact]
    public void The_knapsack_is_optimal_up_to_one_bin_per_layer_against_brute_force()
    {
        var rng = new Random(13);
        var allocator = new SensitivityAllocator(bins: 500);
        for (int trial = 0; trial < 200; trial++)
        {
            var curves = Enumerable.Range(0, rng.Next(1, 4))
                .Select(l => Thin(PruningTestSupport.RandomCurve(rng, $"l{l}"), rng, 5)).ToArray();
            double budget = rng.NextDouble() * 0.03;
            long dp = Removed(curves, allocator.Knapsack(curves, budget));
            long best = BruteForce(curves, budget);
            long bestTighter = BruteForce(curves, budget * (1 - (double)curves.Length / allocator.Bins));
            Assert.True(dp <= best, $"trial {trial}: the knapsack removed {dp}, more than the optimum {best}: it overspent.");
            Assert.True(dp >= bestTighter, $"trial {trial}: the knapsack removed {dp}, less than {bestTighter} with a budget one bin per layer tighter.");
        }
    }

    [Fact]
    public void A_zero_budget_prunes_nothing()
    {
        var rng = new Random(14);
        var curves = PruningTestSupport.RandomCurves(rng, 4);
        foreach (var allocator in s_allocators)
            Assert.All(allocator.Allocate(curves, 0).Zip(curves), p => Assert.Equal(p.Second.Kept, p.First.Kept));
    }

    [Fact]
    public void A_huge_budget_prunes_every_layer_to_the_largest_grid_sparsity()
    {
        var rng = new Random(15);
        var curves = PruningTestSupport.RandomCurves(rng, 4);
        foreach (var allocator in s_allocators)
            Assert.All(allocator.Allocate(curves, 10).Zip(curves), p => Assert.Equal(p.Second.Points[^1].Kept, p.First.Kept));
    }

    [Fact]
    public void A_free_point_where_pruning_costs_nothing_is_taken_even_without_budget()
    {
        var curve = new SensitivityCurve("fc.weight", 100, 100, 0.9,
            [new(0, 100, 0.9), new(0.5, 50, 0.905), new(0.9, 10, 0.85)]);
        foreach (var allocator in s_allocators)
            Assert.Equal(50, allocator.Allocate([curve], 0)[0].Kept);
    }

    [Fact]
    public void The_sensitivity_allocation_spends_budget_where_it_buys_the_most_connections()
    {
        // A big insensitive layer and a small sensitive one: all the budget should go to the big one.
        var big = new SensitivityCurve("big", 10_000, 10_000, 0.9,
            [new(0, 10_000, 0.9), new(0.5, 5000, 0.899), new(0.9, 1000, 0.894)]);
        var small = new SensitivityCurve("small", 100, 100, 0.9,
            [new(0, 100, 0.9), new(0.5, 50, 0.897), new(0.9, 10, 0.88)]);
        var allocation = new SensitivityAllocator().Allocate([big, small], 0.006);
        Assert.Equal(1000, allocation[0].Kept);
        Assert.Equal(100, allocation[1].Kept);
        // Uniform gives each 0.003: big reaches 50%, small 50%.
        var uniform = new UniformAllocator().Allocate([big, small], 0.006);
        Assert.Equal(5000, uniform[0].Kept);
        Assert.Equal(50, uniform[1].Kept);
    }

    [Fact]
    public void Baselines_are_not_budget_allocators()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BudgetAllocators.Create(AllocationKind.Global));
        Assert.Equal(AllocationKind.Size, BudgetAllocators.Create(AllocationKind.Size).Kind);
    }

    private static SensitivityCurve Thin(SensitivityCurve c, Random rng, int points)
    {
        var kept = c.Points.Skip(1).OrderBy(_ => rng.Next()).Take(points).OrderBy(p => p.Sparsity);
        return c with { Points = [c.Points[0], .. kept] };
    }

    private static long BruteForce(IReadOnlyList<SensitivityCurve> curves, double budget)
    {
        long best = 0;
        void Go(int layer, double spent, long removed)
        {
            if (spent > budget) return;
            if (layer == curves.Count) { best = Math.Max(best, removed); return; }
            foreach (var p in curves[layer].Points)
                Go(layer + 1, spent + Math.Max(0, curves[layer].Drop(p)), removed + curves[layer].Kept - p.Kept);
        }
        Go(0, 0, 0);
        return best;
    }
}
