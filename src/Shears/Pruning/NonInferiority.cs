namespace Shears.Pruning;

/// <summary>
/// A one-sided confidence bound on how much accuracy a pruned network lost against the original, from both
/// networks' predictions on the same images. The comparison is paired: only the images on which the two disagree
/// carry information, so its standard error is far smaller than that of either accuracy alone (CNN-3 at 5% kept
/// disagrees with its original on about 0.7% of the validation images: 0.12 points, against 0.15 for one accuracy).
/// Holding the bound, not the measured drop, within a largest drop is a non-inferiority test: it makes the range
/// hold on images the pruner never saw, at the stated confidence, instead of on the validation split alone.
/// </summary>
public static class NonInferiority
{
    /// <summary>
    /// Where two networks disagree on the same images: <see cref="Lost"/> images only the original gets right,
    /// <see cref="Won"/> images only the candidate gets right, of <see cref="Count"/>.
    /// </summary>
    public readonly record struct Paired(int Count, int Lost, int Won)
    {
        /// <summary>Original accuracy minus candidate accuracy (accuracy units).</summary>
        public double Drop => Count == 0 ? 0 : (double)(Lost - Won) / Count;

        /// <summary>
        /// The upper <paramref name="z"/>-standard-error bound of <see cref="Drop"/>: the normal approximation to the
        /// mean of d_i = original_i − candidate_i ∈ {−1, 0, 1}, whose variance is (lost + won)/n − drop².
        /// </summary>
        public double UpperBound(double z)
        {
            if (!(z >= 0) || double.IsInfinity(z)) throw new ArgumentOutOfRangeException(nameof(z), z, "z must be zero or more.");
            if (Count == 0) return 0;
            double drop = Drop;
            double variance = Math.Max(0, (double)(Lost + Won) / Count - drop * drop);
            return drop + z * Math.Sqrt(variance / Count);
        }
    }

    /// <summary>Counts the images each network alone gets right, from per-image correctness on the same images.</summary>
    public static Paired Compare(ReadOnlySpan<bool> originalCorrect, ReadOnlySpan<bool> candidateCorrect)
    {
        if (originalCorrect.Length != candidateCorrect.Length)
            throw new ArgumentException($"The original was judged on {originalCorrect.Length} images and the candidate on {candidateCorrect.Length}; a paired bound needs the same images.");
        int lost = 0, won = 0;
        for (int i = 0; i < originalCorrect.Length; i++)
        {
            if (originalCorrect[i] == candidateCorrect[i]) continue;
            if (originalCorrect[i]) lost++;
            else won++;
        }
        return new Paired(originalCorrect.Length, lost, won);
    }

    /// <summary>The upper <paramref name="z"/>-standard-error bound of the candidate's drop against the original (<see cref="Paired.UpperBound"/>).</summary>
    public static double DropUpperBound(ReadOnlySpan<bool> originalCorrect, ReadOnlySpan<bool> candidateCorrect, double z) =>
        Compare(originalCorrect, candidateCorrect).UpperBound(z);

    /// <summary>
    /// The standard normal quantile for a one-sided <paramref name="confidence"/> in [0.5, 1): 1.645 for 0.95.
    /// Acklam's rational approximation (relative error under 1.2e-9), enough for a margin.
    /// </summary>
    public static double Z(double confidence)
    {
        if (!(confidence >= 0.5 && confidence < 1))
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "A one-sided confidence must be in [0.5, 1), e.g. 0.95.");
        double p = confidence;
        if (p <= 0.97575)
        {
            double q = p - 0.5, r = q * q;
            return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q /
                   (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1);
        }
        double t = Math.Sqrt(-2 * Math.Log(1 - p));
        return -(((((-7.784894002430293e-03 * t - 3.223964580411365e-01) * t - 2.400758277161838e+00) * t - 2.549732539343734e+00) * t + 4.374664141464968e+00) * t + 2.938163982698783e+00) /
               ((((7.784695709041462e-03 * t + 3.224671290700398e-01) * t + 2.445134137142996e+00) * t + 3.754408661907416e+00) * t + 1);
    }
}
