namespace Shears.Pruning;

/// <summary>
/// The connections of one weight still present, ordered best first: highest score, then lowest index on ties,
/// so masks are deterministic. Built once per layer and round (one sort), it answers "keep the top k" for any k
/// in O(n). Entries already pruned (mask 0) are not ranked: they stay pruned whatever their score.
/// </summary>
public sealed class ScoreRanking
{
    private readonly float[] _scores;
    private readonly int[] _order;

    private ScoreRanking(float[] scores, int[] order)
    {
        _scores = scores;
        _order = order;
    }

    /// <summary>All entries, pruned or not.</summary>
    public int Count => _scores.Length;

    /// <summary>Entries present before this ranking prunes anything: the most a mask from it can keep.</summary>
    public int Kept => _order.Length;

    /// <summary>The kept entries' indices, best first.</summary>
    public ReadOnlySpan<int> Order => _order;

    public ReadOnlySpan<float> Scores => _scores;

    /// <summary>
    /// Ranks <paramref name="scores"/>; <paramref name="mask"/> is the current mask (0 = already pruned), or empty
    /// when the weight is dense. NaN scores rank above everything, so a broken weight is never silently removed.
    /// </summary>
    public static ScoreRanking Build(ReadOnlySpan<float> scores, ReadOnlySpan<float> mask)
    {
        if (!mask.IsEmpty && mask.Length != scores.Length)
            throw new ArgumentException($"The mask holds {mask.Length} entries but there are {scores.Length} scores.", nameof(mask));
        int kept = 0;
        for (int i = 0; i < scores.Length; i++) if (mask.IsEmpty || mask[i] != 0f) kept++;
        var keys = new ulong[kept];
        int k = 0;
        for (int i = 0; i < scores.Length; i++)
            if (mask.IsEmpty || mask[i] != 0f) keys[k++] = Key(scores[i], (uint)i);
        Array.Sort(keys);
        var order = new int[kept];
        for (int j = 0; j < kept; j++) order[j] = (int)(uint)keys[j];
        return new ScoreRanking(scores.ToArray(), order);
    }

    /// <summary>
    /// A sort key whose ascending order is descending score then ascending <paramref name="index"/>: the score's
    /// bits mapped to an order-preserving unsigned integer (−0 as +0, NaN as +∞), inverted, in the high half.
    /// </summary>
    internal static ulong Key(float score, uint index)
    {
        if (float.IsNaN(score)) score = float.PositiveInfinity;
        if (score == 0f) score = 0f;
        uint bits = BitConverter.SingleToUInt32Bits(score);
        uint ordered = (bits & 0x8000_0000u) == 0 ? bits | 0x8000_0000u : ~bits;
        return ((ulong)~ordered << 32) | index;
    }

    /// <summary>How many entries a sparsity (of all <see cref="Count"/> entries, pruned ones included) keeps: round((1 − s)·n), at most <see cref="Kept"/>.</summary>
    public int KeepFor(double sparsity)
    {
        if (!(sparsity >= 0 && sparsity <= 1)) throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "A sparsity is a fraction in [0, 1].");
        long keep = (long)Math.Round((1 - sparsity) * Count, MidpointRounding.AwayFromZero);
        return (int)Math.Clamp(keep, 0, Kept);
    }

    /// <summary>Writes the 0/1 mask that keeps the best <paramref name="keep"/> ranked entries into <paramref name="mask"/> (length <see cref="Count"/>).</summary>
    public void MaskKeeping(int keep, Span<float> mask)
    {
        if ((uint)keep > (uint)Kept) throw new ArgumentOutOfRangeException(nameof(keep), keep, $"Can keep 0..{Kept} of the entries still present.");
        if (mask.Length != Count) throw new ArgumentException($"The mask holds {mask.Length} entries; {Count} are needed.", nameof(mask));
        mask.Clear();
        foreach (int i in _order.AsSpan(0, keep)) mask[i] = 1f;
    }

    public float[] MaskKeeping(int keep)
    {
        var mask = new float[Count];
        MaskKeeping(keep, mask);
        return mask;
    }

    /// <summary>
    /// The largest score among the entries keeping <paramref name="keep"/> newly prunes: entries scoring at or
    /// below it go (ties by index). 0 when it prunes nothing new.
    /// </summary>
    public double ThresholdFor(int keep) => keep < Kept ? _scores[_order[keep]] : 0;
}
