using Spectre.Console;

namespace Shears.Cli;

/// <summary>
/// Progress bars on an interactive terminal, plain milestone lines otherwise (CI logs, pipes), so long work
/// always shows that it is alive.
/// </summary>
internal static class Progress
{
    /// <summary>Minutes and seconds, the minutes not wrapping at an hour (a full three-seed reproduce takes longer).</summary>
    public static string Clock(TimeSpan t) => $"{(int)t.TotalMinutes}:{t:ss}";

    /// <summary>Runs <paramref name="work"/> with one bar; the work reports (done, total, note).</summary>
    public static void Run(IAnsiConsole console, string title, Action<Action<long, long?, string?>> work)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            long lastReported = -1;
            work((done, total, note) =>
            {
                if (total is > 0 && done == total && lastReported != done)
                {
                    lastReported = done;
                    console.MarkupLine($"[grey]{title}: {done:N0} bytes{(note is null ? "" : " from " + Markup.Escape(note))}[/]");
                }
            });
            return;
        }
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, autoStart: true, maxValue: 1);
                work((done, total, note) =>
                {
                    if (total is > 0) { task.MaxValue = total.Value; task.Value = done; }
                    if (note is not null) task.Description = $"{title} [grey]{Markup.Escape(note)}[/]";
                });
                task.Value = task.MaxValue;
            });
    }
}
