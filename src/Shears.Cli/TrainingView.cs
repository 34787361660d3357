using Shears.Training;
using Spectre.Console;

namespace Shears.Cli;

/// <summary>
/// Shows a training run: a live bar (epoch, batch, loss, images/s, ETA) on a terminal, one line per epoch
/// otherwise. Runs the work on the calling thread and forwards its progress events.
/// </summary>
internal static class TrainingView
{
    public static T Run<T>(IAnsiConsole console, string title, Func<IProgress<TrainingProgress>, T> work)
    {
        if (!console.Profile.Capabilities.Interactive)
            return work(new Inline<TrainingProgress>(p =>
            {
                if (p.EpochCompleted)
                    console.MarkupLine(Markup.Escape($"{title}: epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:F4}  {p.ImagesPerSecond:N0} img/s" +
                        (p.ValidationAccuracy is { } v ? $"  validation {v:P2}" : "") + $"  elapsed {Progress.Clock(p.Elapsed)}"));
            }));

        T result = default!;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: 1);
                result = work(new Inline<TrainingProgress>(p =>
                {
                    task.MaxValue = (double)p.Epochs * p.BatchesPerEpoch;
                    task.Value = (double)(p.Epoch - 1) * p.BatchesPerEpoch + p.Batch;
                    string eta = p.Remaining is { } r ? $" ETA {Progress.Clock(r)}" : "";
                    string val = p.ValidationAccuracy is { } v ? $" val {v:P2}" : "";
                    task.Description = Markup.Escape($"{title} epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.BatchesPerEpoch} loss {p.Loss:F4} {p.ImagesPerSecond:N0} img/s{eta}{val}");
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>IProgress that runs on the reporting thread (System.Progress would post to the thread pool and reorder events).</summary>
    private sealed class Inline<TValue>(Action<TValue> report) : IProgress<TValue>
    {
        public void Report(TValue value) => report(value);
    }
}
