using Shears.Nn;

namespace Shears.Pruning;

/// <summary>
/// Measures one layer's sensitivity curve: accuracy with this layer alone pruned (the others untouched) to each
/// sparsity of a grid, then midpoints where the curve bends. The layer's values and mask are restored afterwards.
/// </summary>
public static class Sensitivity
{
    /// <summary>
    /// Measures <paramref name="weight"/> pruned by <paramref name="ranking"/> to each sparsity of
    /// <paramref name="grid"/> above its current one. Each refinement pass inserts the midpoint between adjacent
    /// points whose accuracies differ by more than <paramref name="refineAbove"/>, where at least one of the two is
    /// within <paramref name="relevantDrop"/> of <paramref name="baseAccuracy"/> (past that no allocation can pick
    /// them). <paramref name="evaluate"/> returns the model's validation accuracy as it stands;
    /// <paramref name="onPoint"/> is told after each evaluation.
    /// </summary>
    public static SensitivityCurve Measure(
        Parameter weight, ScoreRanking ranking, double baseAccuracy, Func<double> evaluate,
        IReadOnlyList<double> grid, int refinePasses = 2, double refineAbove = 0.002, double relevantDrop = double.PositiveInfinity,
        Action<int>? onPoint = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(ranking);
        ArgumentNullException.ThrowIfNull(evaluate);
        if (ranking.Count != weight.Count)
            throw new ArgumentException($"The ranking covers {ranking.Count} entries but '{weight.Name}' has {weight.Count}.");
        int n = ranking.Count, m = ranking.Kept;
        var accuracyAt = new SortedDictionary<int, double>(Comparer<int>.Create((a, b) => b.CompareTo(a))) { [m] = baseAccuracy };
        var saved = weight.Value.ReadOnlySpan.ToArray();
        var savedMask = weight.Mask;
        var shape = weight.Value.Shape.ToArray();
        int evaluations = 0;

        double Evaluate(int keep)
        {
            ct.ThrowIfCancellationRequested();
            saved.CopyTo(weight.Value.Span);
            weight.SetMask(new Tensor(ranking.MaskKeeping(keep), shape));
            double accuracy = evaluate();
            onPoint?.Invoke(++evaluations);
            return accuracy;
        }

        try
        {
            foreach (double s in grid.Order())
            {
                int keep = ranking.KeepFor(s);
                if (keep < m && !accuracyAt.ContainsKey(keep)) accuracyAt[keep] = Evaluate(keep);
            }
            for (int pass = 0; pass < refinePasses; pass++)
            {
                var keeps = accuracyAt.Keys.ToArray();
                var inserted = new List<int>();
                for (int i = 0; i + 1 < keeps.Length; i++)
                {
                    int a = keeps[i], b = keeps[i + 1];
                    double accA = accuracyAt[a], accB = accuracyAt[b];
                    if (a - b < 2 || Math.Abs(accA - accB) <= refineAbove) continue;
                    if (Math.Min(baseAccuracy - accA, baseAccuracy - accB) > relevantDrop) continue;
                    inserted.Add(b + (a - b) / 2);
                }
                if (inserted.Count == 0) break;
                foreach (int keep in inserted) accuracyAt[keep] = Evaluate(keep);
            }
        }
        finally
        {
            saved.CopyTo(weight.Value.Span);
            weight.SetMask(savedMask);
        }
        var points = accuracyAt.Select(kv => new SensitivityPoint(n == 0 ? 0 : 1 - (double)kv.Key / n, kv.Key, kv.Value)).ToArray();
        return new SensitivityCurve(weight.Name, n, m, baseAccuracy, points);
    }

    /// <summary>How many grid evaluations a layer needs before refinement (for progress totals).</summary>
    public static int GridEvaluations(ScoreRanking ranking, IReadOnlyList<double> grid) =>
        grid.Select(ranking.KeepFor).Where(k => k < ranking.Kept).Distinct().Count();
}
