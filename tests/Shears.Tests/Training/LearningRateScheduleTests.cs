using Shears.Training;

namespace Shears.Tests.Training;

public class LearningRateScheduleTests
{
    [Fact]
    public void Cosine_starts_at_the_base_rate_ends_at_one_percent_and_never_rises()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Cosine, 0.1f, 1000);
        Assert.Equal(0.1f, schedule.At(0));
        Assert.Equal(0.001, schedule.At(1000), 1e-9);
        Assert.Equal(0.001, schedule.At(5000), 1e-9);
        Assert.InRange(schedule.At(999), 0.001f, 0.0011f);
        Assert.Equal(0.1 * (0.01 + 0.99 * 0.5), schedule.At(500), 1e-7);
        for (long step = 1; step <= 1000; step++)
            Assert.True(schedule.At(step) <= schedule.At(step - 1), $"the rate rises at step {step}");
    }

    [Fact]
    public void Constant_keeps_the_base_rate()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Constant, 0.05f, 100);
        for (long step = 0; step <= 120; step++) Assert.Equal(0.05f, schedule.At(step));
    }

    [Fact]
    public void Step_divides_by_ten_at_half_and_three_quarters_of_training()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Step, 1f, 100);
        Assert.Equal(1f, schedule.At(0));
        Assert.Equal(1f, schedule.At(49));
        Assert.Equal(0.1f, schedule.At(50));
        Assert.Equal(0.1f, schedule.At(74));
        Assert.Equal(0.01f, schedule.At(75));
        Assert.Equal(0.01f, schedule.At(99));
    }

    [Fact]
    public void Warmup_ramps_linearly_to_the_base_rate_then_follows_the_schedule()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Cosine, 1f, 110, WarmupSteps: 10);
        for (int step = 0; step < 10; step++) Assert.Equal((step + 1) / 10f, schedule.At(step), 1e-6f);
        Assert.Equal(1f, schedule.At(10));
        Assert.Equal(0.01, schedule.At(110), 1e-7);
        for (long step = 11; step <= 110; step++) Assert.True(schedule.At(step) <= schedule.At(step - 1));
    }

    [Fact]
    public void The_rate_depends_only_on_the_step()
    {
        var a = new LearningRateSchedule(ScheduleKind.Cosine, 0.3f, 77);
        var b = a with { };
        for (long step = 76; step >= 0; step--) Assert.Equal(a.At(step), b.At(step));
    }
}
