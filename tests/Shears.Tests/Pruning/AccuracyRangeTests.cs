using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class AccuracyRangeTests
{
    [Fact]
    public void A_floor_alone_is_the_floor()
    {
        Assert.Equal(0.97, new AccuracyRange(0.97, null).Floor(0.985), 12);
    }

    [Fact]
    public void A_drop_is_in_percentage_points_below_the_original()
    {
        Assert.Equal(0.983, new AccuracyRange(null, 0.2).Floor(0.985), 12);
        Assert.Equal(0.975, AccuracyRange.WithinDrop(1.0).Floor(0.985), 12);
    }

    [Fact]
    public void A_drop_margin_narrows_a_drop_and_leaves_an_absolute_floor_alone()
    {
        Assert.Equal(0.984, new AccuracyRange(null, 0.2).Floor(0.985, 0, 0.001), 12);
        Assert.Equal(0.97, new AccuracyRange(0.97, null).Floor(0.985, 0, 0.001), 12);
        // With both, each margin moves its own bound and the stricter bound still wins.
        Assert.Equal(0.977, new AccuracyRange(0.97, 1.0).Floor(0.985, 0.005, 0.002), 12);
        Assert.Equal(0.984, new AccuracyRange(0.98, 1.0).Floor(0.985, 0.004, 0.001), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AccuracyRange(null, 0.2).Floor(0.985, 0, -0.001));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AccuracyRange(null, 0.2).Floor(0.985, 0, double.NaN));
    }

    [Fact]
    public void With_both_the_stricter_wins()
    {
        Assert.Equal(0.983, new AccuracyRange(0.97, 0.2).Floor(0.985), 12);
        Assert.Equal(0.98, new AccuracyRange(0.98, 1.0).Floor(0.985), 12);
    }

    [Fact]
    public void Accuracy_on_the_floor_counts_as_inside_despite_rounding()
    {
        double floor = new AccuracyRange(null, 0.2).Floor(0.981);
        Assert.True(AccuracyRange.Holds(979 / 1000.0, floor));
        Assert.False(AccuracyRange.Holds(978 / 1000.0, floor));
    }

    [Fact]
    public void A_floor_above_the_original_raises_a_range_exception_naming_the_gap()
    {
        var range = new AccuracyRange(0.99, null);
        var e = Assert.Throws<RangeException>(() => range.EnsureContains(0.975));
        Assert.IsAssignableFrom<ShearsException>(e);
        Assert.Equal(0.015, e.Gap, 12);
        Assert.Contains("1.5 percentage points", e.Message);
        Assert.Contains("97.50%", e.Message);
        Assert.Contains("99.00%", e.Message);
    }

    [Fact]
    public void A_range_that_holds_the_original_does_not_throw()
    {
        new AccuracyRange(0.975, 0.5).EnsureContains(0.975);
        new AccuracyRange(null, 0).EnsureContains(0.5);
    }

    [Fact]
    public void A_negative_drop_is_rejected_clearly()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AccuracyRange(null, -0.1).Validate());
        Assert.Contains("percentage points", e.Message);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.5)]
    [InlineData(98.0)]
    [InlineData(double.NaN)]
    public void A_floor_outside_zero_to_one_is_rejected_clearly(double floor)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AccuracyRange(floor, null).Floor(0.9));
        Assert.Contains("[0, 1]", e.Message);
    }

    [Fact]
    public void A_range_with_neither_bound_is_rejected_clearly()
    {
        var e = Assert.Throws<ArgumentException>(() => new AccuracyRange(null, null).Validate());
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Describe_names_both_bounds_and_says_the_stricter_wins()
    {
        Assert.Equal("validation accuracy at least 98.00%", new AccuracyRange(0.98, null).Describe());
        Assert.Equal("at most 0.2 percentage points below the original", new AccuracyRange(null, 0.2).Describe());
        Assert.Contains("the stricter wins", new AccuracyRange(0.98, 0.2).Describe());
    }

    [Fact]
    public void Pruning_options_reject_a_bad_range_and_bad_settings()
    {
        Assert.Throws<ArgumentException>(() => new BudgetPruner(new PruningOptions(new AccuracyRange(null, null))));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(1)) { Rounds = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(1)) { SparsityGrid = [0.5, 1.0] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(1)) { RelearnLearningRate = 0 }));
    }
}
