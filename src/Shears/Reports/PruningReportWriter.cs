using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Shears.Nn;
using Shears.Pruning;

namespace Shears.Reports;

/// <summary>The files <see cref="PruningReportWriter.WriteAll"/> wrote; an image is null when it was not drawn.</summary>
public sealed record ReportFiles(string Json, string Markdown, string? Weights, string? Sensitivity);

/// <summary>
/// Writes a <see cref="PruningReport"/> for machines (JSON) and for people (Markdown with tables and images).
/// Every file is written atomically: a reader sees the old file or the whole new one.
/// </summary>
public static class PruningReportWriter
{
    public const string JsonFileName = "report.json";
    public const string MarkdownFileName = "report.md";
    public const string WeightsFileName = "weights.png";
    public const string SensitivityFileName = "sensitivity.png";

    /// <summary>
    /// The JSON form: camelCase names, enums as their names, indented. Accuracies are fractions, budgets and
    /// margins accuracy units (0.002 = 0.2 points); dictionary keys (layer names) are kept as they are.
    /// </summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>
    /// Writes <paramref name="report"/> as JSON: top-level <c>model</c>, <c>connectionsTotal</c>,
    /// <c>connectionsKept</c>, <c>keptFraction</c>, <c>compression</c>, <c>range</c> {<c>minAccuracy</c>, …},
    /// <c>original</c> / <c>afterPruning</c> / <c>pruned</c> {<c>validationAccuracy</c>, <c>testAccuracy</c>},
    /// <c>dropUpperBound</c>, <c>confirmation</c> {<c>images</c>, <c>originalAccuracy</c>, <c>floor</c>,
    /// <c>prunedAccuracy</c>, <c>stepBacks</c>, <c>round</c>, <c>margin</c>} (null without held-out images),
    /// <c>marginValidation</c>, <c>marginTest</c>, <c>seconds</c>, <c>allocation</c>, <c>criterion</c>,
    /// <c>relearnEpochs</c>, <c>stepBacks</c>, <c>layers</c>[] {<c>name</c>, <c>connections</c>, <c>kept</c>,
    /// <c>budget</c>, <c>threshold</c>, <c>sparsity</c>}, <c>rounds</c>[] and <c>sensitivity</c> {layer: [points]}.
    /// </summary>
    public static void WriteJson(PruningReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, report, JsonOptions));
    }

    /// <summary>Reads a report written by <see cref="WriteJson"/>; throws <see cref="ShearsException"/> naming the file when it is not one.</summary>
    public static PruningReport ReadJson(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<PruningReport>(stream, JsonOptions)
                ?? throw new ShearsException("holds null, not a pruning report.", path);
        }
        catch (JsonException e)
        {
            throw new ShearsException($"not a pruning report: {e.Message}", path, e);
        }
    }

    /// <summary>
    /// Writes a Markdown report: the summary (connections kept, compression, the range, the margins and an
    /// "inside the range" / "OUTSIDE the range" verdict), accuracies of the original, pruned and re-learned
    /// networks on validation and test, one row per layer, one per round, and the images whose file names
    /// (relative to the report) are given.
    /// </summary>
    public static void WriteMarkdown(PruningReport report, string path, string? weightImageFileName, string? sensitivityImageFileName)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllText(path, Markdown(report, weightImageFileName, sensitivityImageFileName));
    }

    /// <summary>
    /// Writes report.json, report.md, weights.png (when both models' first layers can be drawn, see
    /// <see cref="WeightPatternImage.CanRender"/>) and sensitivity.png (when the report has sensitivity curves)
    /// into <paramref name="directory"/>, creating it. The images come first, so the Markdown never links a missing one.
    /// </summary>
    public static ReportFiles WriteAll(PruningReport report, Sequential dense, Sequential pruned, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(dense);
        ArgumentNullException.ThrowIfNull(pruned);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);

        string? weights = null;
        if (WeightPatternImage.CanRender(dense) && WeightPatternImage.CanRender(pruned))
        {
            weights = Path.Combine(directory, WeightsFileName);
            WeightPatternImage.Render(dense, pruned, weights);
        }
        string? sensitivity = Path.Combine(directory, SensitivityFileName);
        if (!SensitivityPlot.Render(report, sensitivity)) sensitivity = null;

        string markdown = Path.Combine(directory, MarkdownFileName);
        WriteMarkdown(report, markdown, weights is null ? null : WeightsFileName, sensitivity is null ? null : SensitivityFileName);
        string json = Path.Combine(directory, JsonFileName);
        WriteJson(report, json);
        return new ReportFiles(json, markdown, weights, sensitivity);
    }

    /// <summary>True when the final network's validation accuracy is at or above the floor (within <see cref="AccuracyRange.Tolerance"/>).</summary>
    public static bool InsideRange(PruningReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy);
    }

    /// <summary>The Markdown text <see cref="WriteMarkdown"/> writes.</summary>
    public static string Markdown(PruningReport report, string? weightImageFileName, string? sensitivityImageFileName)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        var r = report;
        bool inside = InsideRange(r);

        md.AppendLine($"# Pruning report: {Cell(r.Model)}").AppendLine();
        md.AppendLine(inside
            ? $"**Inside the range**: the pruned network's validation accuracy {Pct(r.Pruned.ValidationAccuracy)} is {Points(r.MarginValidation)} above the floor {Pct(r.Range.MinAccuracy)}."
            : $"**OUTSIDE the range**: the pruned network's validation accuracy {Pct(r.Pruned.ValidationAccuracy)} is {Points(-r.MarginValidation)} below the floor {Pct(r.Range.MinAccuracy)}.");
        md.AppendLine();

        md.AppendLine("## Summary").AppendLine();
        md.AppendLine("| | |").AppendLine("| --- | --- |");
        md.AppendLine($"| Connections kept | {Count(r.ConnectionsKept)} of {Count(r.ConnectionsTotal)} ({Pct(r.KeptFraction)}) |");
        md.AppendLine($"| Connections pruned | {Count(r.ConnectionsTotal - r.ConnectionsKept)} ({Pct(1 - r.KeptFraction)}) |");
        md.AppendLine($"| Compression | {Num(r.Compression, "0.00")}× |");
        md.AppendLine($"| Range | {Cell(r.Range.Description)} |");
        md.AppendLine($"| Floor (validation) | {Pct(r.Range.MinAccuracy)}; error budget {Points(r.Range.ErrorBudget)}{(r.Range.SafetyMargin > 0 ? $" after a safety margin of {Points(r.Range.SafetyMargin)}" : "")} |");
        md.AppendLine($"| Margin, validation | {SignedPoints(r.MarginValidation)} ({(inside ? "inside the range" : "OUTSIDE the range")}) |");
        if (r.DropUpperBound is double bound && r.Range.Confidence is double confidence && r.Range.MaxDrop is double drop)
            md.AppendLine($"| Drop, upper bound | {Points(bound)} at {Num(confidence * 100, "0.#")}% one-sided confidence, paired with the original on the validation images (largest drop {Num(drop, "0.###")} points) |");
        if (r.Confirmation is { } cf)
            md.AppendLine($"| Margin, held-out images | {SignedPoints(cf.Margin)}: {Pct(cf.PrunedAccuracy)} against the floor {Pct(cf.Floor)} on {Count(cf.Images)} validation images the search never saw " +
                          $"(original {Pct(cf.OriginalAccuracy)}); {(cf.StepBacks == 0 ? "the search's result held there" : $"stepped back {cf.StepBacks} accepted network{(cf.StepBacks == 1 ? "" : "s")} to round {cf.Round}'s")} |");
        md.AppendLine($"| Margin, test | {(r.MarginTest is double mt ? $"{SignedPoints(mt)} ({(AccuracyRange.Holds(r.Pruned.TestAccuracy!.Value, r.Range.TestFloor ?? r.Range.MinAccuracy) ? "above" : "below")} the test floor {Pct(r.Range.TestFloor ?? r.Range.MinAccuracy)}; reported only, the test set decides nothing)" : "no test set")} |");
        md.AppendLine($"| Verdict | **{(inside ? "inside the range" : "OUTSIDE the range")}** |");
        md.AppendLine($"| Allocation, criterion | {r.Allocation}, {r.Criterion} |");
        if (r.Paths.Count > 0)
            md.AppendLine($"| Paths (one search per criterion, the sparsest kept) | " + string.Join("; ", r.Paths.Select(p =>
                $"{p.Criterion}: {Count(p.ConnectionsKept)} kept ({Pct(p.KeptFraction)}), validation {Pct(p.Pruned.ValidationAccuracy)}, {Num(p.Seconds, "0")} s{(p.Kept ? " (kept)" : "")}")) + " |");
        md.AppendLine($"| Re-learning | {r.RelearnEpochs} epoch{(r.RelearnEpochs == 1 ? "" : "s")} per round; {r.Rounds.Count} round{(r.Rounds.Count == 1 ? "" : "s")}, {r.StepBacks} step-back{(r.StepBacks == 1 ? "" : "s")}" +
                      $"{(r.DistillWeight > 0 ? $"; distilled from the original (α {Num(r.DistillWeight, "0.##")}, T {Num(r.DistillTemperature, "0.##")})" : "")}" +
                      $"{(r.RelearnShift > 0 ? $"; images shifted at random by up to {r.RelearnShift} pixel{(r.RelearnShift == 1 ? "" : "s")}" : "")}" +
                      $"{(r.RelearnWeightDecay > 0 ? $"; weight decay {Num(r.RelearnWeightDecay, "0.####")}" : "")} |");
        if (r.Warmup is { } w)
            md.AppendLine($"| Warm-up | {w.Epochs} epoch{(w.Epochs == 1 ? "" : "s")} of re-learning before round 1: validation {Pct(w.ValidationAccuracy)}, " +
                          $"{(w.Kept ? "the rounds started from it" : "below the original's, so the rounds started from the original")} |");
        if (r.ValidationSplit is { } split) md.AppendLine($"| Validation split | {split} |");
        md.AppendLine($"| Time | {Num(r.Seconds, "0.0")} s |");
        md.AppendLine();

        md.AppendLine("## Accuracy").AppendLine();
        md.AppendLine("| Network | Validation | Test |").AppendLine("| --- | ---: | ---: |");
        md.AppendLine($"| Original | {Pct(r.Original.ValidationAccuracy)} | {Pct(r.Original.TestAccuracy)} |");
        md.AppendLine($"| After pruning (before re-learning) | {Pct(r.AfterPruning.ValidationAccuracy)} | {Pct(r.AfterPruning.TestAccuracy)} |");
        md.AppendLine($"| After re-learning (final) | {Pct(r.Pruned.ValidationAccuracy)} | {Pct(r.Pruned.TestAccuracy)} |");
        md.AppendLine($"| Floor | {Pct(r.Range.MinAccuracy)} | {Pct(r.Range.TestFloor ?? r.Range.MinAccuracy)} |");
        md.AppendLine($"| Margin | {SignedPoints(r.MarginValidation)} | {(r.MarginTest is double m ? SignedPoints(m) : "—")} |");
        md.AppendLine();

        md.AppendLine("## Layers").AppendLine();
        md.AppendLine("Budget share: the part of the error budget the layer was given in the last round that changed it. " +
                      "Threshold: the score at or below which its connections were pruned.").AppendLine();
        md.AppendLine("| Layer | Connections | Kept | Kept % | Budget share | Threshold |").AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var l in r.Layers)
            md.AppendLine($"| {Cell(l.Name)} | {Count(l.Connections)} | {Count(l.Kept)} | {Pct(1 - l.Sparsity)} | " +
                          $"{(l.Budget is double b ? Points(b, "0.000") : "—")} | {Num(l.Threshold, "G4")} |");
        md.AppendLine($"| **total** | {Count(r.ConnectionsTotal)} | {Count(r.ConnectionsKept)} | {Pct(r.KeptFraction)} | | |");
        md.AppendLine();

        md.AppendLine("## Rounds").AppendLine();
        if (r.Rounds.Count == 0)
        {
            md.AppendLine("No rounds were run.");
        }
        else
        {
            md.AppendLine("Accuracies on the validation split; budgets in percentage points.").AppendLine();
            md.AppendLine("| Round | Kept before | Kept after | At start | Before re-learning | After re-learning | Budget available | Given | Used | Shrinks | Outcome | Seconds |");
            md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
            foreach (var round in r.Rounds)
                md.AppendLine($"| {round.Round} | {Count(round.KeptBefore)} | {Count(round.Kept)} | {Pct(round.ValidationAtStart)} | {Pct(round.ValidationBeforeRelearn)} | " +
                              $"{Pct(round.ValidationAfterRelearn)} | {Num(round.BudgetAvailable * 100, "0.000")} | {Num(round.BudgetGiven * 100, "0.000")} | " +
                              $"{Num(round.BudgetUsed * 100, "0.000")} | {round.Shrinks} | {Outcome(round.Outcome)} | {Num(round.Seconds, "0.0")} |");
        }
        md.AppendLine();

        if (weightImageFileName is not null)
        {
            md.AppendLine("## Weight patterns of the first layer").AppendLine();
            md.AppendLine("One tile per unit (the first 100 at most): its incoming weights laid out as the input image. Blue is negative, " +
                          "red positive, white zero; grey marks a pruned connection.").AppendLine();
            md.AppendLine($"![Weight patterns of the first layer, dense and pruned]({Link(weightImageFileName)})").AppendLine();
        }
        if (sensitivityImageFileName is not null)
        {
            md.AppendLine("## Sensitivity").AppendLine();
            md.AppendLine("Validation accuracy with each layer alone pruned to a sparsity (first round), and the floor.").AppendLine();
            md.AppendLine($"![Sensitivity curves of each layer]({Link(sensitivityImageFileName)})").AppendLine();
        }
        return md.ToString();
    }

    private static string Outcome(RoundOutcome outcome) => outcome switch
    {
        RoundOutcome.Accepted => "accepted",
        RoundOutcome.Rescued => "accepted after rescue re-learning",
        RoundOutcome.SteppedBack => "stepped back",
        RoundOutcome.AcceptedAsPruned => "accepted as pruned (re-learning lost accuracy)",
        RoundOutcome.NoGain => "nothing more to prune",
        _ => outcome.ToString(),
    };

    private static string Pct(double? fraction) => fraction is double f ? Num(f * 100, "0.00") + "%" : "—";

    private static string Points(double accuracy, string format = "0.00") => Num(accuracy * 100, format) + " points";

    private static string SignedPoints(double accuracy) => (accuracy >= 0 ? "+" : "−") + Points(Math.Abs(accuracy));

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Num(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Text safe inside a table cell: pipes escaped, line breaks flattened.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    /// <summary>A relative link target: forward slashes, spaces and parentheses percent-encoded.</summary>
    private static string Link(string fileName) =>
        fileName.Replace('\\', '/').Replace(" ", "%20", StringComparison.Ordinal).Replace("(", "%28", StringComparison.Ordinal).Replace(")", "%29", StringComparison.Ordinal);
}
