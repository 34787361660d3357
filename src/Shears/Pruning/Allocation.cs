namespace Shears.Pruning;

/// <summary>
/// One layer's measured sensitivity in a round: validation accuracy with this layer alone pruned (the others at
/// their current masks) to each of <see cref="Points"/>, ascending in sparsity. The first point is the layer as it
/// stands (<see cref="Kept"/> connections, accuracy <see cref="BaseAccuracy"/>).
/// </summary>
public sealed record SensitivityCurve(string Layer, long Connections, long Kept, double BaseAccuracy, IReadOnlyList<SensitivityPoint> Points)
{
    /// <summary>Accuracy lost at <paramref name="point"/> (negative when pruning helped).</summary>
    public double Drop(SensitivityPoint point) => BaseAccuracy - point.Accuracy;

    /// <summary>
    /// The measured point with the fewest kept connections whose drop is within <paramref name="share"/>; the
    /// layer as it stands when none is. Never a point between measurements.
    /// </summary>
    public SensitivityPoint Pick(double share)
    {
        var best = new SensitivityPoint(Connections == 0 ? 0 : 1 - (double)Kept / Connections, Kept, BaseAccuracy);
        foreach (var p in Points)
            if (p.Kept < best.Kept && Drop(p) <= share + Tolerance) best = p;
        return best;
    }

    internal const double Tolerance = 1e-12;
}

/// <summary>What an allocation gives one layer: its share of the budget and the measured point that share buys.</summary>
/// <param name="Share">The layer's share of the error budget (accuracy units).</param>
/// <param name="ExpectedDrop">The measured drop at the chosen point, max(0, drop): what the share is expected to cost.</param>
public sealed record LayerAllocation(string Layer, double Share, long Kept, double Sparsity, double ExpectedDrop);

/// <summary>
/// Shares an error budget among layers from their measured sensitivity curves, without touching a network, so
/// strategies can be compared on synthetic curves. The chosen points' expected drops add up to at most the budget.
/// </summary>
public interface IBudgetAllocator
{
    AllocationKind Kind { get; }

    IReadOnlyList<LayerAllocation> Allocate(IReadOnlyList<SensitivityCurve> curves, double budget);
}

public static class BudgetAllocators
{
    /// <summary>The allocator for a budget method; the baselines (Global, UniformSparsity) are searches on the combined network, not allocators.</summary>
    public static IBudgetAllocator Create(AllocationKind kind) => kind switch
    {
        AllocationKind.Sensitivity => new SensitivityAllocator(),
        AllocationKind.Uniform => new UniformAllocator(),
        AllocationKind.Size => new SizeAllocator(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, $"{kind} is a baseline search, not a budget allocation."),
    };

    public static bool IsBudgetMethod(AllocationKind kind) =>
        kind is AllocationKind.Sensitivity or AllocationKind.Uniform or AllocationKind.Size;

    /// <summary>Each layer gets its share and the point it buys.</summary>
    internal static LayerAllocation[] FromShares(IReadOnlyList<SensitivityCurve> curves, IReadOnlyList<double> shares)
    {
        var result = new LayerAllocation[curves.Count];
        for (int i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            var p = c.Pick(shares[i]);
            result[i] = new LayerAllocation(c.Layer, shares[i], p.Kept, p.Sparsity, Math.Max(0, c.Drop(p)));
        }
        return result;
    }

    internal static long Removed(IReadOnlyList<SensitivityCurve> curves, IReadOnlyList<LayerAllocation> allocation)
    {
        long removed = 0;
        for (int i = 0; i < curves.Count; i++) removed += curves[i].Kept - allocation[i].Kept;
        return removed;
    }

    internal static double Budget(double budget) => double.IsFinite(budget) ? Math.Max(0, budget) : throw new ArgumentOutOfRangeException(nameof(budget), budget, "The budget must be a finite number.");
}

/// <summary>An equal share of the budget per layer.</summary>
public sealed class UniformAllocator : IBudgetAllocator
{
    public AllocationKind Kind => AllocationKind.Uniform;

    public IReadOnlyList<LayerAllocation> Allocate(IReadOnlyList<SensitivityCurve> curves, double budget)
    {
        budget = BudgetAllocators.Budget(budget);
        double share = curves.Count == 0 ? 0 : budget / curves.Count;
        return BudgetAllocators.FromShares(curves, curves.Select(_ => share).ToArray());
    }
}

/// <summary>Shares proportional to the connections each layer still has (all of them in the first round).</summary>
public sealed class SizeAllocator : IBudgetAllocator
{
    public AllocationKind Kind => AllocationKind.Size;

    public IReadOnlyList<LayerAllocation> Allocate(IReadOnlyList<SensitivityCurve> curves, double budget)
    {
        budget = BudgetAllocators.Budget(budget);
        double total = curves.Sum(c => (double)c.Kept);
        return BudgetAllocators.FromShares(curves, curves.Select(c => total == 0 ? 0 : budget * c.Kept / total).ToArray());
    }
}

/// <summary>
/// The per-layer points that remove the most connections while their measured drops (max(0, drop)) add up to at
/// most the budget: a multiple-choice knapsack solved by dynamic programming over the budget cut into
/// <see cref="Bins"/> equal units. Costs are rounded up to whole units, so the answer never exceeds the budget; the
/// price is that a combination spending the budget to the last unit can be missed, so the proportional
/// allocations (Uniform, Size) are checked as candidates too and this never does worse than they do.
/// </summary>
public sealed class SensitivityAllocator(int bins = 2000) : IBudgetAllocator
{
    public AllocationKind Kind => AllocationKind.Sensitivity;

    public int Bins { get; } = bins > 0 ? bins : throw new ArgumentOutOfRangeException(nameof(bins), bins, "At least one bin is needed.");

    public IReadOnlyList<LayerAllocation> Allocate(IReadOnlyList<SensitivityCurve> curves, double budget)
    {
        budget = BudgetAllocators.Budget(budget);
        var best = Knapsack(curves, budget);
        long bestRemoved = BudgetAllocators.Removed(curves, best);
        foreach (var other in new IBudgetAllocator[] { new UniformAllocator(), new SizeAllocator() })
        {
            var candidate = other.Allocate(curves, budget);
            long removed = BudgetAllocators.Removed(curves, candidate);
            if (removed > bestRemoved) (best, bestRemoved) = (candidate, removed);
        }
        return best;
    }

    /// <summary>The dynamic programme alone (no proportional candidates), for tests.</summary>
    internal IReadOnlyList<LayerAllocation> Knapsack(IReadOnlyList<SensitivityCurve> curves, double budget)
    {
        int layers = curves.Count;
        if (layers == 0) return [];
        if (budget <= 0) return BudgetAllocators.FromShares(curves, new double[layers]);
        int capacity = Bins;
        double unit = budget / capacity;
        // Candidates per layer: (cost in units, connections removed, point). The layer as it stands is free.
        var options = new List<(int Cost, long Value, SensitivityPoint? Point)>[layers];
        for (int l = 0; l < layers; l++)
        {
            var c = curves[l];
            options[l] = [(0, 0, null)];
            foreach (var p in c.Points)
            {
                if (p.Kept >= c.Kept) continue;
                double drop = Math.Max(0, c.Drop(p));
                double units = Math.Ceiling(drop / unit - 1e-9);
                if (units > capacity) continue;
                options[l].Add(((int)Math.Max(0, units), c.Kept - p.Kept, p));
            }
        }
        // best[l + 1][b]: most connections removed by layers 0..l spending at most b units.
        var value = new long[layers + 1][];
        var choice = new int[layers][];
        value[0] = new long[capacity + 1];
        for (int l = 0; l < layers; l++)
        {
            var prev = value[l];
            var next = value[l + 1] = new long[capacity + 1];
            var pick = choice[l] = new int[capacity + 1];
            for (int b = 0; b <= capacity; b++)
            {
                long bestValue = long.MinValue;
                int bestOption = 0;
                for (int o = 0; o < options[l].Count; o++)
                {
                    var (cost, gain, _) = options[l][o];
                    if (cost > b) continue;
                    long v = prev[b - cost] + gain;
                    // Strictly better only: on ties the cheaper option listed first wins.
                    if (v > bestValue || (v == bestValue && cost < options[l][bestOption].Cost)) { bestValue = v; bestOption = o; }
                }
                next[b] = bestValue;
                pick[b] = bestOption;
            }
        }
        var shares = new double[layers];
        int remaining = capacity;
        for (int l = layers - 1; l >= 0; l--)
        {
            var (cost, _, point) = options[l][choice[l][remaining]];
            shares[l] = point is null ? 0 : Math.Max(0, curves[l].Drop(point));
            remaining -= cost;
        }
        return BudgetAllocators.FromShares(curves, shares);
    }
}
