namespace Shears.Pruning;

/// <summary>
/// The two baselines' pieces, free of any network: how many connections each layer keeps for one global score
/// threshold or one common sparsity, and the bisection that finds the largest step the budget allows.
/// </summary>
public static class BaselineSearch
{
    /// <summary>
    /// All layers' kept entries in one order, best first (score, then layer, then index), so "keep the global top
    /// K" is one prefix: the same as one threshold on scores for every layer, as PyTorch's global_unstructured does.
    /// </summary>
    public sealed class GlobalOrder
    {
        private readonly int[] _layerOf;
        private readonly float[] _scoreOf;

        public GlobalOrder(IReadOnlyList<ScoreRanking> rankings)
        {
            Rankings = rankings;
            long total = rankings.Sum(r => (long)r.Kept);
            if (total > int.MaxValue) throw new ArgumentException($"{total} connections are more than a global ranking holds.");
            var keys = new ulong[total];
            var layerAt = new int[total];
            var rankAt = new int[total];
            int position = 0;
            for (int l = 0; l < rankings.Count; l++)
            {
                var r = rankings[l];
                // Key each entry by its position in the concatenated kept lists: within a layer that follows the
                // layer's own order, so each layer's share of a global prefix is a prefix of its ranking.
                for (int j = 0; j < r.Kept; j++, position++)
                {
                    keys[position] = ScoreRanking.Key(r.Scores[r.Order[j]], (uint)position);
                    layerAt[position] = l;
                    rankAt[position] = j;
                }
            }
            Array.Sort(keys);
            _layerOf = new int[total];
            _scoreOf = new float[total];
            for (int i = 0; i < keys.Length; i++)
            {
                int at = (int)(uint)keys[i];
                var r = rankings[layerAt[at]];
                _layerOf[i] = layerAt[at];
                _scoreOf[i] = r.Scores[r.Order[rankAt[at]]];
            }
        }

        public IReadOnlyList<ScoreRanking> Rankings { get; }

        /// <summary>Entries present in all layers together.</summary>
        public long Kept => _layerOf.Length;

        /// <summary>Per layer, how many of the global best <paramref name="keepTotal"/> it holds.</summary>
        public int[] KeepCounts(long keepTotal)
        {
            if (keepTotal < 0 || keepTotal > Kept) throw new ArgumentOutOfRangeException(nameof(keepTotal), keepTotal, $"Can keep 0..{Kept} connections.");
            var counts = new int[Rankings.Count];
            for (long i = 0; i < keepTotal; i++) counts[_layerOf[i]]++;
            return counts;
        }

        /// <summary>The global threshold for <paramref name="keepTotal"/>: the best score it prunes (0 when it prunes nothing).</summary>
        public double ThresholdFor(long keepTotal) => keepTotal < Kept ? _scoreOf[keepTotal] : 0;
    }

    /// <summary>The same sparsity (of each layer's total, pruned entries included) in every layer; a layer already sparser keeps what it has.</summary>
    public static int[] UniformKeepCounts(IReadOnlyList<ScoreRanking> rankings, double sparsity) =>
        rankings.Select(r => r.KeepFor(sparsity)).ToArray();

    /// <summary>
    /// Per-layer kept counts adding up to exactly <paramref name="keepTotal"/>, each as close as whole numbers allow
    /// to the same fraction of the layer's total (largest remainders get the spare ones), none above what the layer
    /// still has.
    /// </summary>
    public static int[] UniformKeepCounts(IReadOnlyList<ScoreRanking> rankings, long keepTotal)
    {
        long available = rankings.Sum(r => (long)r.Kept);
        if (keepTotal < 0 || keepTotal > available) throw new ArgumentOutOfRangeException(nameof(keepTotal), keepTotal, $"Can keep 0..{available} connections.");
        int layers = rankings.Count;
        var counts = new int[layers];
        var capped = new bool[layers];
        long left = keepTotal;
        // Share what is left among uncapped layers in proportion to their totals; a layer that cannot take its
        // share (already pruned below it) keeps all it has and leaves the loop.
        while (true)
        {
            double weight = 0;
            for (int l = 0; l < layers; l++) if (!capped[l]) weight += rankings[l].Count;
            bool cappedAny = false;
            for (int l = 0; l < layers; l++)
            {
                if (capped[l]) continue;
                double ideal = weight == 0 ? 0 : left * (double)rankings[l].Count / weight;
                if (ideal >= rankings[l].Kept)
                {
                    counts[l] = rankings[l].Kept;
                    capped[l] = true;
                    left -= counts[l];
                    cappedAny = true;
                }
            }
            if (!cappedAny) break;
        }
        double w = 0;
        for (int l = 0; l < layers; l++) if (!capped[l]) w += rankings[l].Count;
        var remainders = new List<(double Remainder, int Layer)>();
        long assigned = 0;
        for (int l = 0; l < layers; l++)
        {
            if (capped[l]) continue;
            double ideal = w == 0 ? 0 : left * (double)rankings[l].Count / w;
            counts[l] = (int)Math.Floor(ideal);
            assigned += counts[l];
            remainders.Add((ideal - counts[l], l));
        }
        long spare = left - assigned;
        foreach (var (_, l) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Layer))
        {
            if (spare <= 0) break;
            if (counts[l] < rankings[l].Kept) { counts[l]++; spare--; }
        }
        return counts;
    }

    /// <summary>
    /// The largest x in [<paramref name="low"/>, <paramref name="high"/>] with <paramref name="feasible"/>(x), by
    /// bisection, assuming <paramref name="low"/> is feasible and feasibility falls once as x grows (where it does
    /// not, the answer is still a feasible x, only perhaps not the largest). Tries <paramref name="high"/> first.
    /// </summary>
    public static double LargestFeasible(Func<double, bool> feasible, double low, double high, int iterations = 12)
    {
        ArgumentNullException.ThrowIfNull(feasible);
        if (!(high >= low)) return low;
        if (feasible(high)) return high;
        for (int i = 0; i < iterations; i++)
        {
            double mid = 0.5 * (low + high);
            if (feasible(mid)) low = mid; else high = mid;
        }
        return low;
    }
}
