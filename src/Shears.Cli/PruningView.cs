using Shears.Pruning;
using Shears.Tensors;
using Spectre.Console;

namespace Shears.Cli;

/// <summary>
/// Shows a pruning run: one bar per phase (the sensitivity sweep of each round, each round's re-learning) on
/// a terminal, milestone lines otherwise.
/// </summary>
internal static class PruningView
{
    /// <summary>The live display that runs scheduled together share (<see cref="RunScheduled"/>); null outside them.</summary>
    private static readonly AsyncLocal<ProgressContext?> s_board = new();

    public static T Run<T>(IAnsiConsole console, string title, Func<IProgress<PruningProgress>, T> work)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return work(new Inline(p =>
            {
                bool milestone = p.Phase is PruningPhase.Measure or PruningPhase.Check or PruningPhase.StepBack or PruningPhase.Done or PruningPhase.Allocate
                    || (p.Phase == PruningPhase.Relearn && p.Training is { EpochCompleted: true })
                    || (p.Phase == PruningPhase.Sensitivity && p.Step == p.Total);
                if (milestone) console.MarkupLine(Markup.Escape($"{title}: {Describe(p)}"));
            }));
        }
        if (s_board.Value is { } board) return Bars(board, console, title, work);
        T result = default!;
        Display(console).Start(ctx => result = Bars(ctx, console, title, work));
        return result;
    }

    /// <summary>
    /// Runs <paramref name="jobs"/> as <see cref="KernelThreads.RunScheduled"/> does; on a terminal the
    /// <see cref="Run"/> calls inside them share one live display, since a terminal holds only one.
    /// </summary>
    public static T[] RunScheduled<T>(IAnsiConsole console, IReadOnlyList<(int Width, Func<T> Job)> jobs)
    {
        if (!console.Profile.Capabilities.Interactive || s_board.Value is not null) return KernelThreads.RunScheduled(jobs);
        T[] results = [];
        Display(console).Start(ctx =>
        {
            // The jobs' threads start inside, so they see the board.
            s_board.Value = ctx;
            try { results = KernelThreads.RunScheduled(jobs); }
            finally { s_board.Value = null; }
        });
        return results;
    }

    private static Spectre.Console.Progress Display(IAnsiConsole console) => console.Progress()
        .AutoClear(false)
        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn());

    /// <summary>One bar per phase of one run, on a live display it may share with runs beside it.</summary>
    private static T Bars<T>(ProgressContext ctx, IAnsiConsole console, string title, Func<IProgress<PruningProgress>, T> work)
    {
        var tasks = new Dictionary<string, ProgressTask>();
        ProgressTask Task(string key, string description)
        {
            if (!tasks.TryGetValue(key, out var t))
            {
                foreach (var other in tasks.Values) if (!other.IsFinished) other.Value = other.MaxValue;
                tasks[key] = t = ctx.AddTask(description, maxValue: 1);
            }
            return t;
        }
        var result = work(new Inline(p =>
        {
            switch (p.Phase)
            {
                case PruningPhase.Sensitivity:
                {
                    var t = Task($"s{p.Round}", $"round {p.Round} sensitivity");
                    t.MaxValue = Math.Max(1, p.Total);
                    t.Value = p.Step;
                    t.Description = Markup.Escape($"{title} round {p.Round} sensitivity {p.Layer}");
                    break;
                }
                case PruningPhase.Relearn when p.Training is { } tr:
                {
                    string phase = p.Round == 0 ? "warm-up" : $"round {p.Round}";
                    var t = Task($"r{p.Round}", $"{phase} re-learning");
                    t.MaxValue = (double)tr.Epochs * tr.BatchesPerEpoch;
                    t.Value = (double)(tr.Epoch - 1) * tr.BatchesPerEpoch + tr.Batch;
                    t.Description = Markup.Escape($"{title} {phase} re-learning epoch {tr.Epoch}/{tr.Epochs} loss {tr.Loss:F4} {tr.ImagesPerSecond:N0} img/s");
                    break;
                }
                case PruningPhase.Check or PruningPhase.StepBack or PruningPhase.Measure:
                    console.MarkupLine(Markup.Escape($"{title}: {Describe(p)}"));
                    break;
            }
        }));
        foreach (var t in tasks.Values) t.Value = t.MaxValue;
        return result;
    }

    private static string Describe(PruningProgress p)
    {
        string round = p.Round > 0 ? $"round {p.Round} " : "";
        string acc = p.ValidationAccuracy is { } v ? $" validation {v:P2}" : "";
        string kept = p.ConnectionsKept is { } k ? $" kept {k:N0}" : "";
        string training = p.Training is { } t ? $" epoch {t.Epoch}/{t.Epochs} loss {t.Loss:F4}" : "";
        return $"{round}{p.Phase.ToString().ToLowerInvariant()}{(p.Layer is null ? "" : " " + p.Layer)}{training}{acc}{kept} {p.Message}".TrimEnd();
    }

    private sealed class Inline(Action<PruningProgress> report) : IProgress<PruningProgress>
    {
        public void Report(PruningProgress value) => report(value);
    }

    /// <summary>The per-layer table and the summary the `prune` command prints.</summary>
    public static void ShowReport(IAnsiConsole console, PruningReport r)
    {
        var layers = new Table().Title($"[bold]{Markup.Escape(r.Model)}[/] layers")
            .AddColumn("layer").AddColumn(new TableColumn("connections").RightAligned()).AddColumn(new TableColumn("kept").RightAligned())
            .AddColumn(new TableColumn("kept %").RightAligned()).AddColumn(new TableColumn("budget share").RightAligned()).AddColumn(new TableColumn("threshold").RightAligned());
        foreach (var l in r.Layers)
            layers.AddRow(Markup.Escape(l.Name), $"{l.Connections:N0}", $"{l.Kept:N0}", $"{(double)l.Kept / Math.Max(1, l.Connections):P2}",
                l.Budget is { } b ? $"{b * 100:F3} pts" : "-", $"{l.Threshold:G4}");
        console.Write(layers);

        var s = new Table().Title("[bold]summary[/]").AddColumn("").AddColumn(new TableColumn("validation").RightAligned()).AddColumn(new TableColumn("test").RightAligned());
        static string P(double? v) => v is { } x ? $"{x:P2}" : "-";
        s.AddRow("original", P(r.Original.ValidationAccuracy), P(r.Original.TestAccuracy));
        s.AddRow("after pruning", P(r.AfterPruning.ValidationAccuracy), P(r.AfterPruning.TestAccuracy));
        s.AddRow("after re-learning", P(r.Pruned.ValidationAccuracy), P(r.Pruned.TestAccuracy));
        s.AddRow("range (floor)", P(r.Range.MinAccuracy), P(r.Range.TestFloor ?? r.Range.MinAccuracy));
        s.AddRow("margin", Margin(r.MarginValidation), r.MarginTest is { } mt ? Margin(mt) : "-");
        if (r.DropUpperBound is { } bound && r.Range.Confidence is { } c && r.Range.MaxDrop is { } drop)
            s.AddRow($"drop bound ({c:P0})", $"{bound * 100:F2} pts of {drop:0.###}", "-");
        if (r.Confirmation is { } cf)
            s.AddRow($"held out ({cf.Images:N0} images)", $"{cf.PrunedAccuracy:P2}, floor {cf.Floor:P2}: {Margin(cf.Margin)}",
                cf.StepBacks == 0 ? "confirmed" : $"stepped back {cf.StepBacks}");
        console.Write(s);
        foreach (var path in r.Paths)
            console.MarkupLine(Markup.Escape($"path {path.Criterion}: kept {path.ConnectionsKept:N0} ({path.KeptFraction:P2}), validation {path.Pruned.ValidationAccuracy:P2}, in {path.Seconds:F0} s") +
                               (path.Kept ? " [bold](kept: the sparsest)[/]" : ""));
        console.MarkupLine($"connections kept [bold]{r.ConnectionsKept:N0}[/] of {r.ConnectionsTotal:N0} ([bold]{r.KeptFraction:P2}[/], {r.Compression:F1}× compression) " +
                           $"in {r.Seconds:F0} s; range: {Markup.Escape(r.Range.Description)}");
    }

    private static string Margin(double m) => m >= 0 ? $"[green]+{m * 100:F2} pts (inside)[/]" : $"[red]{m * 100:F2} pts (OUTSIDE)[/]";
}
