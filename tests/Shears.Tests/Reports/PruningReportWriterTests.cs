using System.Text.Json;
using Shears.Pruning;
using Shears.Reports;
using static Shears.Tests.Reports.ReportTestSupport;

namespace Shears.Tests.Reports;

public sealed class PruningReportWriterTests
{
    private static string[] Names(JsonElement obj) => obj.EnumerateObject().Select(p => p.Name).ToArray();

    [Fact]
    public void Report_json_has_exactly_the_documented_field_names()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("report.json");

        PruningReportWriter.WriteJson(Report(), path);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        Assert.Equal(
            ["model", "connectionsTotal", "connectionsKept", "keptFraction", "compression", "range", "original", "afterPruning", "pruned", "dropUpperBound", "confirmation", "warmup",
             "marginValidation", "marginTest", "seconds", "allocation", "criterion", "paths", "relearnEpochs", "relearnEpochsTotal", "distillWeight", "distillTemperature", "relearnShift", "relearnWeightDecay", "stepBacks", "layers", "rounds", "validationSplit", "sensitivity"],
            Names(root));
        Assert.Equal(["minAccuracy", "maxDrop", "requestedMinAccuracy", "errorBudget", "description", "testFloor", "safetyMargin", "confidence"], Names(root.GetProperty("range")));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("confirmation").ValueKind);
        string confirmed = dir.File("confirmed.json");
        PruningReportWriter.WriteJson(Report() with { Confirmation = new ConfirmationReport(5000, 0.99, 0.988, 0.9891, 2, 7) }, confirmed);
        using (var withConfirmation = JsonDocument.Parse(File.ReadAllBytes(confirmed)))
        {
            var c = withConfirmation.RootElement.GetProperty("confirmation");
            Assert.Equal(["images", "originalAccuracy", "floor", "prunedAccuracy", "stepBacks", "round", "margin"], Names(c));
            Assert.True(Math.Abs(c.GetProperty("margin").GetDouble() - 0.0011) <= 1e-12);
            Assert.Equal(new ConfirmationReport(5000, 0.99, 0.988, 0.9891, 2, 7), PruningReportWriter.ReadJson(confirmed).Confirmation);
        }
        Assert.Equal(JsonValueKind.Null, root.GetProperty("warmup").ValueKind);
        string warmed = dir.File("warmed.json");
        PruningReportWriter.WriteJson(Report() with { Warmup = new WarmupReport(8, 0.9902, true) }, warmed);
        using (var withWarmup = JsonDocument.Parse(File.ReadAllBytes(warmed)))
            Assert.Equal(["epochs", "validationAccuracy", "kept"], Names(withWarmup.RootElement.GetProperty("warmup")));
        Assert.Equal(new WarmupReport(8, 0.9902, true), PruningReportWriter.ReadJson(warmed).Warmup);
        foreach (string network in new[] { "original", "afterPruning", "pruned" })
            Assert.Equal(["validationAccuracy", "testAccuracy"], Names(root.GetProperty(network)));
        var layers = root.GetProperty("layers").EnumerateArray().ToArray();
        Assert.Equal(3, layers.Length);
        foreach (var layer in layers) Assert.Equal(["name", "connections", "kept", "budget", "threshold", "sparsity"], Names(layer));
        Assert.Equal(
            ["round", "keptBefore", "kept", "validationAtStart", "validationBeforeRelearn", "validationAfterRelearn", "outcome",
             "budgetAvailable", "budgetGiven", "budgetUsed", "shrinks", "seconds", "interpolation", "rescueEpochs", "validationBeforeRescue", "rescueSeconds", "accepted", "stepBudget"],
            Names(root.GetProperty("rounds")[0]));
        Assert.Equal(["fc1.weight", "fc2.weight", "fc3.weight"], Names(root.GetProperty("sensitivity")));
        Assert.Equal(["sparsity", "kept", "accuracy"], Names(root.GetProperty("sensitivity").GetProperty("fc1.weight")[0]));
        Assert.Empty(root.GetProperty("paths").EnumerateArray());
        string withPaths = dir.File("paths.json");
        var report = Report();
        PruningReportWriter.WriteJson(report with { Paths = [new PathReport(CriterionKind.Fisher, 21_000, 0.0789, new AccuracyPair(0.975, 0.972), 12.5, true, report.Rounds)] }, withPaths);
        using var paths = JsonDocument.Parse(File.ReadAllBytes(withPaths));
        var firstPath = paths.RootElement.GetProperty("paths")[0];
        Assert.Equal(["criterion", "connectionsKept", "keptFraction", "pruned", "seconds", "kept", "rounds"], Names(firstPath));
        Assert.Equal("Fisher", firstPath.GetProperty("criterion").GetString());
        // Each path carries its own rounds, so a search that tried several criteria shows how each went.
        Assert.Equal(report.Rounds.Select(r => r.Kept), firstPath.GetProperty("rounds").EnumerateArray().Select(r => r.GetProperty("kept").GetInt64()));
    }

    [Fact]
    public void Report_json_holds_the_values_as_fractions_counts_and_enum_names()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("report.json");

        PruningReportWriter.WriteJson(Report(), path);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        Assert.Equal(266_200, root.GetProperty("connectionsTotal").GetInt64());
        Assert.Equal(21_000, root.GetProperty("connectionsKept").GetInt64());
        Assert.Equal(21_000.0 / 266_200, root.GetProperty("keptFraction").GetDouble(), 12);
        Assert.Equal(266_200.0 / 21_000, root.GetProperty("compression").GetDouble(), 9);
        Assert.Equal(0.97, root.GetProperty("range").GetProperty("minAccuracy").GetDouble());
        Assert.Equal(0.98, root.GetProperty("original").GetProperty("validationAccuracy").GetDouble());
        Assert.Equal(0.979, root.GetProperty("original").GetProperty("testAccuracy").GetDouble());
        Assert.Equal(0.975, root.GetProperty("pruned").GetProperty("validationAccuracy").GetDouble());
        Assert.Equal(0.005, root.GetProperty("marginValidation").GetDouble(), 12);
        Assert.Equal(-0.002, root.GetProperty("marginTest").GetDouble(), 12);
        Assert.Equal("Sensitivity", root.GetProperty("allocation").GetString());
        Assert.Equal("SteppedBack", root.GetProperty("rounds")[1].GetProperty("outcome").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("layers")[2].GetProperty("budget").ValueKind);
    }

    [Fact]
    public void A_report_read_back_from_json_has_the_same_values()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("report.json");
        var report = Report();

        PruningReportWriter.WriteJson(report, path);
        var back = PruningReportWriter.ReadJson(path);

        Assert.Equal((report.Model, report.ConnectionsTotal, report.ConnectionsKept, report.Range, report.Original, report.AfterPruning, report.Pruned),
                     (back.Model, back.ConnectionsTotal, back.ConnectionsKept, back.Range, back.Original, back.AfterPruning, back.Pruned));
        Assert.Equal(report.Layers, back.Layers);
        Assert.Equal(report.Rounds, back.Rounds);
        Assert.Equal(report.Sensitivity.Keys, back.Sensitivity.Keys);
        Assert.Equal(report.Sensitivity["fc2.weight"], back.Sensitivity["fc2.weight"]);
    }

    [Fact]
    public void A_file_that_is_not_a_report_is_refused_naming_it()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("report.json");
        File.WriteAllText(path, "{\"model\": 3");

        var e = Assert.Throws<ShearsException>(() => PruningReportWriter.ReadJson(path));

        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Report_md_says_inside_the_range_and_lists_every_layer_and_round()
    {
        string md = PruningReportWriter.Markdown(Report(0.975), "weights.png", "sensitivity.png");

        Assert.Contains("**Inside the range**: the pruned network's validation accuracy 97.50% is 0.50 points above the floor 97.00%.", md);
        Assert.Contains("| Verdict | **inside the range** |", md);
        Assert.DoesNotContain("OUTSIDE", md);
        Assert.Contains("| Connections kept | 21,000 of 266,200 (7.89%) |", md);
        Assert.Contains("| Compression | 12.68× |", md);
        Assert.Contains("| Validation split | random:5000:1 |", md);
        Assert.Contains("| Margin, validation | +0.50 points (inside the range) |", md);
        Assert.Contains("| Margin, test | −0.20 points (below the test floor 97.00%; reported only, the test set decides nothing) |", md);
        Assert.Contains("| Original | 98.00% | 97.90% |", md);
        Assert.Contains("| After pruning (before re-learning) | 96.00% | 95.80% |", md);
        Assert.Contains("| After re-learning (final) | 97.50% | 96.80% |", md);
        Assert.Contains("| fc1.weight | 235,200 | 15,000 | 6.38% | 0.400 points | 0.0731 |", md);
        Assert.Contains("| fc2.weight | 30,000 | 5,000 | 16.67% | 0.300 points | 0.05 |", md);
        Assert.Contains("| fc3.weight | 1,000 | 1,000 | 100.00% | — | 0 |", md);
        Assert.Contains("| 1 | 266,200 | 30,000 | 98.00% | 96.00% | 97.80% | 1.000 | 1.000 | 2.000 | 0 | accepted | 20.0 |", md);
        Assert.Contains("| 2 | 30,000 | 21,000 | 97.80% | 95.00% | 96.50% | 0.800 | 0.400 | 2.800 | 1 | stepped back | 15.0 |", md);
        Assert.Contains("](weights.png)", md);
        Assert.Contains("](sensitivity.png)", md);
    }

    [Fact]
    public void A_warm_up_is_a_line_of_the_markdown_summary_saying_whether_the_rounds_started_from_it()
    {
        Assert.Contains("| Warm-up | 8 epochs of re-learning before round 1: validation 99.02%, the rounds started from it |",
            PruningReportWriter.Markdown(Report() with { Warmup = new WarmupReport(8, 0.9902, true) }, null, null));
        Assert.Contains("| Warm-up | 1 epoch of re-learning before round 1: validation 98.10%, below the original's, so the rounds started from the original |",
            PruningReportWriter.Markdown(Report() with { Warmup = new WarmupReport(1, 0.981, false) }, null, null));
        Assert.DoesNotContain("Warm-up", PruningReportWriter.Markdown(Report(), null, null));
    }

    [Fact]
    public void A_drop_held_at_a_confidence_reports_its_upper_bound_in_json_and_markdown()
    {
        var report = Report() with { Range = Report().Range with { Confidence = 0.95 }, DropUpperBound = 0.0083 };
        using var dir = new ReportTempFolder();
        string path = dir.File("report.json");
        PruningReportWriter.WriteJson(report, path);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        Assert.Equal(0.0083, doc.RootElement.GetProperty("dropUpperBound").GetDouble(), 12);
        Assert.Equal(0.95, doc.RootElement.GetProperty("range").GetProperty("confidence").GetDouble(), 12);
        Assert.Contains("| Drop, upper bound | 0.83 points at 95% one-sided confidence, paired with the original on the validation images (largest drop 1 points) |",
            PruningReportWriter.Markdown(report, null, null));
        Assert.DoesNotContain("Drop, upper bound", PruningReportWriter.Markdown(Report(), null, null));
    }

    [Fact]
    public void Report_md_says_OUTSIDE_when_the_final_network_is_below_the_floor()
    {
        string md = PruningReportWriter.Markdown(Report(0.965), null, null);

        Assert.Contains("**OUTSIDE the range**: the pruned network's validation accuracy 96.50% is 0.50 points below the floor 97.00%.", md);
        Assert.Contains("| Verdict | **OUTSIDE the range** |", md);
        Assert.Contains("| Margin, validation | −0.50 points (OUTSIDE the range) |", md);
        Assert.DoesNotContain("![", md);
    }

    [Fact]
    public void A_network_exactly_on_the_floor_is_inside_the_range()
    {
        var report = Report(0.97);
        Assert.True(PruningReportWriter.InsideRange(report));
        Assert.Contains("**Inside the range**", PruningReportWriter.Markdown(report, null, null));
    }

    [Fact]
    public void Without_a_test_set_the_test_column_and_margin_say_so()
    {
        var r = Report();
        var report = r with { Original = r.Original with { TestAccuracy = null }, AfterPruning = r.AfterPruning with { TestAccuracy = null }, Pruned = r.Pruned with { TestAccuracy = null } };

        string md = PruningReportWriter.Markdown(report, null, null);

        Assert.Contains("| Margin, test | no test set |", md);
        Assert.Contains("| Original | 98.00% | — |", md);
    }

    [Fact]
    public void A_pipe_in_a_layer_name_does_not_break_the_table()
    {
        var report = Report() with { Layers = [new LayerReport("odd|name", 10, 5, 0.001, 0.5)] };

        string md = PruningReportWriter.Markdown(report, null, null);

        Assert.Contains("| odd\\|name | 10 | 5 | 50.00% |", md);
    }

    [Fact]
    public void WriteAll_writes_the_json_the_markdown_and_both_images_atomically_leaving_no_temporary_files()
    {
        using var dir = new ReportTempFolder();
        string folder = Path.Combine(dir.Path, "out");
        var dense = Model("fcn2");
        var pruned = Pruned("fcn2", dense, i => i % 4 == 0);

        var files = PruningReportWriter.WriteAll(Report(), dense, pruned, folder);

        Assert.Equal(["report.json", "report.md", "sensitivity.png", "weights.png"],
                     Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Path.Combine(folder, "weights.png"), files.Weights);
        Assert.True(IsPng(files.Weights!));
        Assert.True(IsPng(files.Sensitivity!));
        string md = File.ReadAllText(files.Markdown);
        Assert.Contains("](weights.png)", md);
        Assert.Contains("](sensitivity.png)", md);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(files.Json));
        Assert.Equal("fcn2", doc.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public void WriteAll_leaves_out_the_weight_image_for_a_convolutional_model_and_the_sensitivity_plot_for_a_baseline()
    {
        using var dir = new ReportTempFolder();
        var dense = Model("cnn3");
        var report = Report() with { Sensitivity = new Dictionary<string, IReadOnlyList<SensitivityPoint>>() };

        var files = PruningReportWriter.WriteAll(report, dense, dense, dir.Path);

        Assert.Null(files.Weights);
        Assert.Null(files.Sensitivity);
        Assert.Equal(["report.json", "report.md"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("![", File.ReadAllText(files.Markdown));
    }

    [Fact]
    public void Writing_over_an_old_report_replaces_it_whole()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("report.md");
        File.WriteAllText(path, new string('x', 100_000));

        PruningReportWriter.WriteMarkdown(Report(), path, null, null);

        Assert.StartsWith("# Pruning report: fcn2", File.ReadAllText(path));
        Assert.DoesNotContain("xxx", File.ReadAllText(path));
        Assert.Equal(["report.md"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }
}
