namespace Shears.Training;

public enum ScheduleKind { Cosine, Constant, Step }

/// <summary>The learning rate as a pure function of the global step, so a resumed run gets the same rates.</summary>
public sealed record LearningRateSchedule(ScheduleKind Kind, float BaseRate, long TotalSteps, int WarmupSteps = 0)
{
    public float At(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return BaseRate * (step + 1) / WarmupSteps;
        double t = TotalSteps <= WarmupSteps ? 1 : Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        return Kind switch
        {
            ScheduleKind.Constant => BaseRate,
            // Cosine decay to 1% of the base rate.
            ScheduleKind.Cosine => (float)(BaseRate * (0.01 + 0.99 * 0.5 * (1 + Math.Cos(Math.PI * t)))),
            // ×0.1 at 50% and 75% of training.
            ScheduleKind.Step => BaseRate * (t < 0.5 ? 1f : t < 0.75 ? 0.1f : 0.01f),
            _ => BaseRate,
        };
    }
}
