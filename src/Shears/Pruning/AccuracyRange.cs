using System.Globalization;

namespace Shears.Pruning;

/// <summary>
/// The accuracy a pruned network must keep on the validation split: an absolute floor
/// (<see cref="MinAccuracy"/>, a fraction in [0, 1]), a largest drop below the original network
/// (<see cref="MaxDrop"/>, in percentage points: 0.2 means 0.2 points, 0.002 as a fraction), or both, the
/// stricter winning.
/// </summary>
public sealed record AccuracyRange(double? MinAccuracy, double? MaxDrop)
{
    /// <summary>Accuracies within this of the floor count as on it, so 0.979 is not below 0.981 − 0.002 by rounding.</summary>
    public const double Tolerance = 1e-9;

    /// <summary>Only a floor.</summary>
    public static AccuracyRange AtLeast(double minAccuracy) => new(minAccuracy, null);

    /// <summary>Only a drop, in percentage points.</summary>
    public static AccuracyRange WithinDrop(double maxDropPoints) => new(null, maxDropPoints);

    /// <summary>Throws <see cref="ArgumentException"/> (or its out-of-range kind) naming what is wrong.</summary>
    public void Validate()
    {
        if (MinAccuracy is null && MaxDrop is null)
            throw new ArgumentException("The accuracy range is empty: give a minimum accuracy (0..1), a largest drop in percentage points, or both.");
        if (MinAccuracy is double min && !(min >= 0 && min <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinAccuracy), min,
                $"The minimum accuracy must be a fraction in [0, 1] (0.98 means 98%), got {Format(min)}.");
        if (MaxDrop is double drop && !(drop >= 0 && drop <= 100))
            throw new ArgumentOutOfRangeException(nameof(MaxDrop), drop,
                $"The largest drop is in percentage points and must be in [0, 100] (0.2 means 0.2 points), got {Format(drop)}.");
    }

    /// <summary>The effective floor for a network whose original validation accuracy is <paramref name="originalValidationAccuracy"/>.</summary>
    public double Floor(double originalValidationAccuracy) => Floor(originalValidationAccuracy, 0);

    /// <summary>
    /// The effective floor with <paramref name="safetyMargin"/> (accuracy units) kept above the absolute floor
    /// <see cref="MinAccuracy"/>, and <paramref name="dropMargin"/> (accuracy units) kept inside the largest drop
    /// <see cref="MaxDrop"/>. The first guards an absolute floor against the validation split being easier than
    /// unseen data. The second guards a drop: it is measured against the original on the same split, but a run of
    /// many rounds picks the networks that did best on those images, so part of what it keeps is their noise.
    /// </summary>
    public double Floor(double originalValidationAccuracy, double safetyMargin, double dropMargin = 0)
    {
        if (!(safetyMargin >= 0) || double.IsInfinity(safetyMargin))
            throw new ArgumentOutOfRangeException(nameof(safetyMargin), safetyMargin, "The safety margin must be zero or more.");
        if (!(dropMargin >= 0) || double.IsInfinity(dropMargin))
            throw new ArgumentOutOfRangeException(nameof(dropMargin), dropMargin, "The drop margin must be zero or more.");
        Validate();
        if (!(originalValidationAccuracy >= 0 && originalValidationAccuracy <= 1))
            throw new ArgumentOutOfRangeException(nameof(originalValidationAccuracy), originalValidationAccuracy, "An accuracy is a fraction in [0, 1].");
        double floor = double.NegativeInfinity;
        if (MinAccuracy is double min) floor = Math.Max(floor, min + safetyMargin);
        if (MaxDrop is double drop) floor = Math.Max(floor, originalValidationAccuracy - drop / 100.0 + dropMargin);
        return Math.Max(0, floor);
    }

    /// <summary>True when <paramref name="accuracy"/> is at or above <paramref name="floor"/> (within <see cref="Tolerance"/>).</summary>
    public static bool Holds(double accuracy, double floor) => accuracy >= floor - Tolerance;

    /// <summary>Throws <see cref="RangeException"/> when the original network is already outside the range.</summary>
    public void EnsureContains(double originalValidationAccuracy)
    {
        double floor = Floor(originalValidationAccuracy);
        if (!Holds(originalValidationAccuracy, floor))
            throw new RangeException(this, originalValidationAccuracy, floor);
    }

    /// <summary>For people: "validation accuracy ≥ 98.00%", "at most 0.20 points below the original", or both.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (MinAccuracy is double min) parts.Add($"validation accuracy at least {Percent(min)}");
        if (MaxDrop is double drop) parts.Add($"at most {Format(drop)} percentage points below the original");
        return parts.Count switch
        {
            0 => "no range",
            1 => parts[0],
            _ => $"{parts[0]} and {parts[1]} (the stricter wins)",
        };
    }

    internal static string Percent(double fraction) => (fraction * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    internal static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>The original network already sits outside the range it is asked to be pruned within.</summary>
public sealed class RangeException : ShearsException
{
    public RangeException(AccuracyRange range, double originalValidationAccuracy, double floor)
        : base($"The original network's validation accuracy {AccuracyRange.Percent(originalValidationAccuracy)} is already below the floor " +
               $"{AccuracyRange.Percent(floor)} ({range.Describe()}) by {AccuracyRange.Format((floor - originalValidationAccuracy) * 100)} percentage points; " +
               "lower the minimum accuracy or train the network further.")
    {
        Range = range;
        OriginalValidationAccuracy = originalValidationAccuracy;
        Floor = floor;
    }

    public AccuracyRange Range { get; }

    public double OriginalValidationAccuracy { get; }

    public double Floor { get; }

    /// <summary>How far below the floor the original is, as a fraction (0.01 = 1 point).</summary>
    public double Gap => Floor - OriginalValidationAccuracy;
}
