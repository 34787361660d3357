using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class StepControlTests
{
    private static readonly PruningOptions Options = new(AccuracyRange.WithinDrop(1)) { MinRoundGain = 0.01, MaxStepBacks = 2 };

    [Fact]
    public void A_step_back_halves_the_step_and_too_many_end_the_run()
    {
        var steps = new StepControl(Options);
        Assert.True(steps.SteppedBack());
        Assert.Equal(0.5, steps.Factor);
        Assert.True(steps.SteppedBack());
        Assert.Equal(0.25, steps.Factor);
        Assert.False(steps.SteppedBack());
        Assert.Equal(3, steps.StepBacks);
    }

    [Fact]
    public void A_round_that_gains_enough_keeps_the_step_and_one_that_gains_too_little_doubles_it_up_to_the_boldest()
    {
        var steps = new StepControl(Options);
        Assert.True(steps.Accepted(1000, 900));
        Assert.Equal(1, steps.Factor);
        // 5 of 1000 is under the least gain of 1%: bolder, twice, then the boldest step gaining too little ends it.
        Assert.True(steps.Accepted(1000, 995));
        Assert.Equal(2, steps.Factor);
        Assert.True(steps.Accepted(995, 990));
        Assert.Equal(StepControl.MaxFactor, steps.Factor);
        Assert.False(steps.Accepted(990, 989));
    }

    [Fact]
    public void A_step_that_prunes_nothing_grows_back_to_the_full_step_before_the_run_ends()
    {
        var steps = new StepControl(Options);
        Assert.False(steps.NothingToPrune()); // the full step found nothing: done

        steps = new StepControl(Options);
        steps.SteppedBack();
        steps.SteppedBack();
        Assert.True(steps.NothingToPrune());
        Assert.Equal(0.5, steps.Factor);
        Assert.True(steps.NothingToPrune());
        Assert.Equal(1, steps.Factor);
        Assert.False(steps.NothingToPrune());
    }

    [Fact]
    public void Step_growth_makes_accepted_rounds_bolder_up_to_the_boldest()
    {
        var steps = new StepControl(Options with { StepGrowth = 3 });
        Assert.True(steps.Accepted(1000, 500));
        Assert.Equal(3, steps.Factor);
        Assert.True(steps.Accepted(500, 250));
        Assert.Equal(StepControl.MaxFactor, steps.Factor);
    }
}
