using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class PruningOptionsTests
{
    [Fact]
    public void The_step_budget_is_at_least_what_is_left_and_at_least_the_option()
    {
        var o = new PruningOptions(AccuracyRange.WithinDrop(0.2)) { StepBudget = 2 };
        Assert.Equal(0.02, o.StepBudgetFor(0.002), 12);
        Assert.Equal(0.05, o.StepBudgetFor(0.05), 12);
        // Without re-learning nothing wins a bolder step back: only what is left may be spent.
        Assert.Equal(0.002, (o with { RelearnEpochs = 0 }).StepBudgetFor(0.002), 12);
        Assert.Equal(0.002, (o with { StepBudget = 0 }).StepBudgetFor(0.002), 12);
    }

    [Fact]
    public void The_safety_margin_raises_only_an_absolute_floor()
    {
        var floorOnly = new PruningOptions(AccuracyRange.AtLeast(0.9)) { MarginStandardErrors = 2 };
        double twoSe = 2 * Math.Sqrt(0.9 * 0.1 / 5000);
        Assert.Equal(twoSe, floorOnly.SafetyMarginFor(0.94, 5000), 12);
        Assert.Equal(0.01, (floorOnly with { SafetyMargin = 1 }).SafetyMarginFor(0.94, 5000), 12);
        Assert.Equal(0.9 + twoSe, floorOnly.Range.Floor(0.94, twoSe), 12);

        var dropOnly = new PruningOptions(AccuracyRange.WithinDrop(0.2)) { MarginStandardErrors = 2, SafetyMargin = 1 };
        Assert.Equal(0, dropOnly.SafetyMarginFor(0.98, 5000));
        // Both given: the margin lifts the absolute part only, then the stricter wins.
        Assert.Equal(0.978, new AccuracyRange(0.9, 0.2).Floor(0.98, 0.01), 12);
        Assert.Equal(0.975, new AccuracyRange(0.965, 2).Floor(0.98, 0.01), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => AccuracyRange.AtLeast(0.9).Floor(0.95, -0.01));
    }

    [Fact]
    public void The_pruners_floor_takes_both_margins_and_never_rises_above_the_original()
    {
        double twoSe = 2 * Math.Sqrt(0.9 * 0.1 / 5000);
        var both = new PruningOptions(new AccuracyRange(0.9, 2)) { MarginStandardErrors = 2, DropMargin = 0.5 };
        Assert.Equal(0.9 + twoSe, both.FloorFor(0.91, 5000), 12);
        Assert.Equal(0.945, both.FloorFor(0.96, 5000), 12);
        Assert.Equal(0.98, new PruningOptions(AccuracyRange.WithinDrop(0.2)).FloorFor(0.982, 5000), 12);
        Assert.Equal(0.982, new PruningOptions(AccuracyRange.WithinDrop(0.2)) { DropMargin = 0.5 }.FloorFor(0.982, 5000), 12);
        Assert.Equal(0.905, new PruningOptions(AccuracyRange.AtLeast(0.9)) { SafetyMargin = 1 }.FloorFor(0.905, 5000), 12);
    }

    [Theory]
    [InlineData(nameof(PruningOptions.StepBudget))]
    [InlineData(nameof(PruningOptions.MinRoundGain))]
    [InlineData(nameof(PruningOptions.PolishEpochs))]
    [InlineData(nameof(PruningOptions.WarmupEpochs))]
    [InlineData(nameof(PruningOptions.RelearnWeightDecay))]
    [InlineData(nameof(PruningOptions.SafetyMargin))]
    [InlineData(nameof(PruningOptions.MarginStandardErrors))]
    [InlineData(nameof(PruningOptions.StepGrowth))]
    [InlineData(nameof(PruningOptions.Confidence))]
    [InlineData(nameof(PruningOptions.ConfirmationImages))]
    public void Bad_values_of_the_new_options_are_refused_by_name(string name)
    {
        var o = new PruningOptions(AccuracyRange.WithinDrop(0.2));
        o = name switch
        {
            nameof(PruningOptions.StepBudget) => o with { StepBudget = -1 },
            nameof(PruningOptions.MinRoundGain) => o with { MinRoundGain = 1 },
            nameof(PruningOptions.PolishEpochs) => o with { PolishEpochs = -1 },
            nameof(PruningOptions.WarmupEpochs) => o with { WarmupEpochs = -1 },
            nameof(PruningOptions.RelearnWeightDecay) => o with { RelearnWeightDecay = -0.1f },
            nameof(PruningOptions.SafetyMargin) => o with { SafetyMargin = double.NaN },
            nameof(PruningOptions.MarginStandardErrors) => o with { MarginStandardErrors = -1 },
            nameof(PruningOptions.Confidence) => o with { Confidence = 1 },
            nameof(PruningOptions.ConfirmationImages) => o with { ConfirmationImages = -1 },
            _ => o with { StepGrowth = 0.5 },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(o.Validate);
        Assert.Equal(name, e.ParamName);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_confidence_is_one_sided_between_one_half_and_one(double confidence)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(new PruningOptions(AccuracyRange.WithinDrop(0.2)) { Confidence = confidence }.Validate);
        Assert.Equal(nameof(PruningOptions.Confidence), e.ParamName);
    }

    [Fact]
    public void Only_a_largest_drop_is_held_at_a_confidence()
    {
        Assert.True(new PruningOptions(AccuracyRange.WithinDrop(0.2)) { Confidence = 0.95 }.BoundsDrop);
        Assert.True(new PruningOptions(new AccuracyRange(0.9, 0.2)) { Confidence = 0.5 }.BoundsDrop);
        Assert.False(new PruningOptions(AccuracyRange.AtLeast(0.9)) { Confidence = 0.95 }.BoundsDrop);
        Assert.False(new PruningOptions(AccuracyRange.WithinDrop(0.2)).BoundsDrop);
    }
}
