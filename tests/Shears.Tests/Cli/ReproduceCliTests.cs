using System.Text.Json;
using Shears.Onnx;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Cli;

/// <summary>`shears reproduce` end to end on a small dataset (quick mode, FCN-1 only, so it takes seconds).</summary>
public sealed class ReproduceCliTests : IDisposable
{
    private readonly DataTempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Reproduce_prunes_against_both_ranges_compares_allocations_and_writes_its_results()
    {
        string data = CliData.Bands(_temp.Folder("data"), train: 400), output = _temp.Sub("out");

        var run = CliRunner.Invoke("reproduce", "--quick", "--models", "fcn1", "--validation", "60", "--confirm", "30",
            "--dataset", data, "--data-dir", data, "--out", output);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains("Quick mode", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var root = json.RootElement;
        Assert.True(root.GetProperty("quick").GetBoolean());
        Assert.Equal(1, root.GetProperty("seeds").GetInt32());
        var entries = root.GetProperty("entries").EnumerateArray().ToArray();
        var skipped = root.GetProperty("skipped").EnumerateArray().ToArray();

        // Each range either has a pruning run or says why it was skipped (the band data's noisy labels cap
        // accuracy near 90%, so the paper's 0.90 floor may sit above the original).
        foreach (string range in new[] { "paper-floor", "iso-accuracy" })
        {
            bool ran = entries.Any(e => e.GetProperty("rangeName").GetString() == range);
            bool skip = skipped.Any(e => e.GetProperty("rangeName").GetString() == range);
            Assert.True(ran ^ skip, $"{range}: ran {ran}, skipped {skip}");
            if (skip) Assert.Contains("below the floor", skipped.First(e => e.GetProperty("rangeName").GetString() == range).GetProperty("reason").GetString());
        }

        var iso = entries.Where(e => e.GetProperty("rangeName").GetString() == "iso-accuracy").ToArray();
        var sensitivity = Assert.Single(iso, e => !e.GetProperty("equalKeptBaseline").GetBoolean());
        Assert.Equal("sensitivity", sensitivity.GetProperty("allocation").GetString());
        Assert.Equal("fcn1", sensitivity.GetProperty("model").GetString());
        foreach (string field in new[] { "connectionsTotal", "connectionsKept", "keptFraction", "compression", "marginValidation", "marginTest", "seconds" })
            Assert.True(sensitivity.TryGetProperty(field, out _), field);
        long kept = sensitivity.GetProperty("connectionsKept").GetInt64();
        Assert.True(kept < sensitivity.GetProperty("connectionsTotal").GetInt64(), "something must be pruned");
        double floor = sensitivity.GetProperty("range").GetProperty("minAccuracy").GetDouble();
        double original = sensitivity.GetProperty("original").GetProperty("validationAccuracy").GetDouble();
        Assert.Equal(original - 0.002, floor, 9);
        Assert.True(sensitivity.GetProperty("pruned").GetProperty("validationAccuracy").GetDouble() >= floor - 1e-9);
        Assert.True(sensitivity.GetProperty("original").TryGetProperty("testAccuracy", out _));
        Assert.True(sensitivity.GetProperty("pruned").TryGetProperty("testAccuracy", out _));
        foreach (var layer in sensitivity.GetProperty("layers").EnumerateArray())
            foreach (string field in new[] { "name", "connections", "kept", "budget", "threshold" }) Assert.True(layer.TryGetProperty(field, out _), field);
        // The search's rounds travel with the entry: their epochs add up to the total, and the last accepted one kept what the entry kept.
        var rounds = sensitivity.GetProperty("rounds").EnumerateArray().ToArray();
        Assert.NotEmpty(rounds);
        Assert.Equal(Enumerable.Range(1, rounds.Length), rounds.Select(r => r.GetProperty("round").GetInt32()));
        int epochsPerRound = sensitivity.GetProperty("relearnEpochs").GetInt32();
        Assert.Equal(sensitivity.GetProperty("relearnEpochsTotal").GetInt32(),
            rounds.Where(r => r.GetProperty("outcome").GetString() != "NoGain").Sum(r => epochsPerRound + r.GetProperty("rescueEpochs").GetInt32()));
        Assert.Equal(kept, rounds.Last(r => r.GetProperty("accepted").GetBoolean()).GetProperty("kept").GetInt64());

        // The baselines sit at exactly the connections the sensitivity allocation kept.
        var baselines = iso.Where(e => e.GetProperty("equalKeptBaseline").GetBoolean()).ToArray();
        Assert.Equal(["global", "uniform-sparsity"], baselines.Select(b => b.GetProperty("allocation").GetString()).Order());
        Assert.All(baselines, b => Assert.Equal(kept, b.GetProperty("connectionsKept").GetInt64()));

        string md = File.ReadAllText(Path.Combine(output, "results.md"));
        Assert.Contains("Quick mode", md);
        Assert.Contains("## Over the seeds", md);
        // The settings behind the figures: quick FCN-1 trains 5 epochs and re-learns 10 a round for 10 rounds at 3e-3.
        Assert.Contains("## Settings", md);
        Assert.Contains("| fcn1 | 5 | 10 | 10 | 0.003 | Fisher | - | - | - (0.05 at the floor) | measured drop |", md);
        Assert.Equal(0, sensitivity.GetProperty("relearnShift").GetInt32());
        Assert.Contains("decisions on the validation split (60 training images drawn at random by each seed; the search decides on the first 30 of them, and the last 30 only confirm its result)", md);
        // --confirm holds the last 30 validation images out of the search, and every run is checked on them.
        var confirmation = sensitivity.GetProperty("confirmation");
        Assert.Equal(30, confirmation.GetProperty("images").GetInt32());
        Assert.Equal(confirmation.GetProperty("originalAccuracy").GetDouble() - 0.002, confirmation.GetProperty("floor").GetDouble(), 9);
        Assert.True(confirmation.GetProperty("margin").GetDouble() >= -1e-9 || confirmation.GetProperty("round").GetInt32() == 0);
        Assert.Contains("## Held-out confirmation", md);
        Assert.Contains("## Allocations at equal connections kept", md);
        Assert.Contains("| fcn1 | iso-accuracy | sensitivity | 1 |", md);

        // The trained model records the validation split it held out; a pruned model is written beside it.
        Assert.Equal("random:60:1", OnnxImporter.ReadMetadata(Path.Combine(output, "models", "fcn1-seed1-e5.onnx"))["shears.validation"]);
        Assert.True(File.Exists(Path.Combine(output, "models", "fcn1-seed1-iso-accuracy-sensitivity.onnx")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_several_seeds_each_seed_holds_out_its_own_images_and_baselines_run_for_the_first_unless_asked(bool everySeed)
    {
        string data = CliData.Bands(_temp.Folder("data"), train: 400), output = _temp.Sub("out");
        string[] args = ["reproduce", "--quick", "--models", "fcn1", "--seeds", "2", "--validation", "60", "--dataset", data, "--data-dir", data, "--out", output];

        var run = CliRunner.Invoke(everySeed ? [.. args, "--baselines-every-seed"] : args);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var entries = json.RootElement.GetProperty("entries").EnumerateArray().ToArray();
        var iso = entries.Where(e => e.GetProperty("rangeName").GetString() == "iso-accuracy").ToArray();
        Assert.Equal([1, 2], iso.Where(e => !e.GetProperty("equalKeptBaseline").GetBoolean()).Select(e => e.GetProperty("seed").GetInt32()).Order());
        var baselineSeeds = iso.Where(e => e.GetProperty("equalKeptBaseline").GetBoolean()).Select(e => e.GetProperty("seed").GetInt32()).Distinct().Order();
        Assert.Equal(everySeed ? [1, 2] : [1], baselineSeeds);
        // The runs share the cores, yet their entries come in the order of the seeds, then the ranges.
        var seedsInOrder = entries.Select(e => e.GetProperty("seed").GetInt32()).ToArray();
        Assert.Equal(seedsInOrder.Order(), seedsInOrder);
        string md = File.ReadAllText(Path.Combine(output, "results.md"));
        Assert.Contains("| fcn1 | iso-accuracy | sensitivity | 2 |", md);
        // Without --confirm the search decides on every validation image and nothing is held out.
        Assert.DoesNotContain("## Held-out confirmation", md);
        Assert.All(iso, e => Assert.True(!e.TryGetProperty("confirmation", out var c) || c.ValueKind == JsonValueKind.Null));
        Assert.Equal("random:60:2", OnnxImporter.ReadMetadata(Path.Combine(output, "models", "fcn1-seed2-e5.onnx"))["shears.validation"]);
    }

    [Fact]
    public void Ranges_first_seed_and_no_baselines_pick_which_runs_are_made()
    {
        string data = CliData.Bands(_temp.Folder("data"), train: 400), output = _temp.Sub("out");

        var run = CliRunner.Invoke("reproduce", "--quick", "--models", "fcn1", "--ranges", "iso-accuracy", "--first-seed", "3", "--no-baselines",
            "--validation", "60", "--dataset", data, "--data-dir", data, "--out", output);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var entry = Assert.Single(json.RootElement.GetProperty("entries").EnumerateArray());
        Assert.Equal("iso-accuracy", entry.GetProperty("rangeName").GetString());
        Assert.Equal(3, entry.GetProperty("seed").GetInt32());
        Assert.False(entry.GetProperty("equalKeptBaseline").GetBoolean());
        Assert.Empty(json.RootElement.GetProperty("skipped").EnumerateArray());
        // Seed 3 trains on its own split, as it would in a run of three seeds from the first.
        Assert.Equal("random:60:3", OnnxImporter.ReadMetadata(Path.Combine(output, "models", "fcn1-seed3-e5.onnx"))["shears.validation"]);
    }

    [Theory]
    [InlineData("--ranges", "paper-floor,median", "median")]
    [InlineData("--ranges", ",", "--ranges")]
    [InlineData("--first-seed", "0", "--first-seed")]
    [InlineData("--no-baselines", "--baselines-every-seed", "--no-baselines")]
    public void Bad_reproduce_choices_are_usage_errors_that_name_them(string option, string value, string named)
    {
        string data = CliData.Bands(_temp.Folder("data"), train: 400), output = _temp.Sub("out");

        var run = CliRunner.Invoke("reproduce", "--quick", "--models", "fcn1", option, value, "--dataset", data, "--data-dir", data, "--out", output);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(named, run.Error);
        Assert.False(File.Exists(Path.Combine(output, "results.json")));
    }

    [Fact]
    public void Holding_out_every_validation_image_for_confirmation_is_a_usage_error()
    {
        string data = CliData.Bands(_temp.Folder("data"), train: 400);

        var run = CliRunner.Invoke("reproduce", "--quick", "--models", "fcn1", "--validation", "60", "--confirm", "60",
            "--dataset", data, "--data-dir", data, "--out", _temp.Sub("out"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--confirm", run.Error);
    }

    [Fact]
    public void Results_md_lists_the_drops_held_at_a_confidence_with_their_bounds()
    {
        Shears.Cli.Commands.ReproduceCommand.Entry Entry(string model, double? confidence, double? bound) => new(
            model, "iso-accuracy", "sensitivity", 1, false, 1000, 100, 0.1, 10,
            new Shears.Pruning.RangeReport(0.988, 0.2, null, 0.002, "at most 0.2 points below the original", 0.989, 0, confidence),
            new Shears.Pruning.AccuracyPair(0.990, 0.991), null, new Shears.Pruning.AccuracyPair(0.9895, 0.9880),
            0.0015, -0.001, 1, 4, [], Shears.Pruning.CriterionKind.Magnitude, 8, bound);
        var results = new Shears.Cli.Commands.ReproduceCommand.Results(false, 1, 60, "random:5000",
            [Entry("cnn3", 0.95, 0.0019), Entry("fcn2", null, null)], []);

        string md = Shears.Cli.Commands.ReproduceCommand.Markdown(results, []);

        Assert.Contains("## Drops held at a confidence", md);
        Assert.Contains("| cnn3 | iso-accuracy | 1 | 95% | +0.05 | +0.19 | +0.30 |", md);
        int start = md.IndexOf("## Drops held", StringComparison.Ordinal), end = md.IndexOf("\n## ", start, StringComparison.Ordinal);
        Assert.DoesNotContain("| fcn2 |", md[start..end]);
        Assert.DoesNotContain("## Drops held at a confidence",
            Shears.Cli.Commands.ReproduceCommand.Markdown(results with { Entries = [Entry("fcn2", null, null)] }, []));
    }

    [Fact]
    public void Results_md_lists_every_criterions_path_and_which_was_kept()
    {
        var fisher = new Shears.Pruning.AccuracyPair(0.9830, 0.9848);
        Shears.Pruning.PathReport[] paths =
        [
            new(Shears.Pruning.CriterionKind.Magnitude, 1885, 0.03764, new Shears.Pruning.AccuracyPair(0.9828, 0.9834), 700, false),
            new(Shears.Pruning.CriterionKind.Fisher, 1046, 0.02089, fisher, 720, true),
        ];
        var entry = new Shears.Cli.Commands.ReproduceCommand.Entry(
            "cnn3", "paper-floor", "sensitivity", 2, false, 50080, 1046, 0.02089, 47.9,
            new Shears.Pruning.RangeReport(0.9828, null, 0.98, 0.01, "accuracy at least 0.98", null, 0.0028), new Shears.Pruning.AccuracyPair(0.991, 0.992), null, fisher,
            0.0002, 0.0048, 1420, 4, [new Shears.Pruning.LayerReport("conv1.weight", 288, 100, null, 0.1)], Shears.Pruning.CriterionKind.Fisher, Paths: paths);
        var results = new Shears.Cli.Commands.ReproduceCommand.Results(false, 1, 60, "random:10000", [entry, entry with { Seed = 3, Paths = null }], []);

        string md = Shears.Cli.Commands.ReproduceCommand.Markdown(results, []);

        Assert.Contains("- cnn3 paper-floor seed 2: conv1.weight 100/288 (34.72%); paths Magnitude 3.76% (98.28 / 98.34), Fisher 2.09% (98.30 / 98.48) kept", md);
        Assert.Contains("- cnn3 paper-floor seed 3: conv1.weight 100/288 (34.72%)\n", md.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Results_md_states_each_models_settings_as_the_pruner_ran_them_at_each_range()
    {
        Shears.Cli.Commands.ReproduceCommand.Entry Entry(string model) => new(
            model, "iso-accuracy", "sensitivity", 1, false, 1000, 100, 0.1, 10,
            new Shears.Pruning.RangeReport(0.988, 0.2, null, 0.002, "at most 0.2 points below the original", 0.989, 0, 0.95),
            new Shears.Pruning.AccuracyPair(0.990, 0.991), null, new Shears.Pruning.AccuracyPair(0.9895, 0.9880),
            0.0015, -0.001, 1, 4, [], Shears.Pruning.CriterionKind.Magnitude);
        var results = new Shears.Cli.Commands.ReproduceCommand.Results(false, 1, 60, "random:5000", [Entry("fcn2"), Entry("cnn3"), Entry("fcn2"), Entry("fcn1")], []);

        string md = Shears.Cli.Commands.ReproduceCommand.Markdown(results, []);

        // FCN-2 stops earlier at its floor; FCN-2 and CNN-3 re-learn on plain images there and on shifted ones at iso-accuracy.
        Assert.Contains("| fcn2 | 15 | 10 | 50 (20 at the floor) | 0.001 | Magnitude | 0.9 | ±2 px (- at the floor) | - | 95% bound |", md);
        Assert.Contains("| cnn3 | 8 | 4 | 25 | 0.0005 | Magnitude (Fisher at the floor) | 0.9 | ±1 px (- at the floor) | - | 95% bound |", md);
        // FCN-1 re-learns faster and with weight decay at its floor.
        Assert.Contains("| fcn1 | 10 | 30 | 40 | 0.003 (0.005 at the floor) | Fisher | - | - | - (0.05 at the floor) | 95% bound |", md);
        Assert.Single(md.Split('\n'), line => line.StartsWith("| fcn2 | 15 |", StringComparison.Ordinal));
    }

    /// <summary>
    /// The searches start costliest first: CNN-3's two, then FCN-2 at iso-accuracy (50 rounds of 10 epochs) before FCN-2
    /// at its floor (20), then FCN-1's, so that the longest FCN search does not start last and run alone at the end.
    /// </summary>
    [Fact]
    public void Searches_are_costed_by_their_rounds_epochs_and_multiply_adds()
    {
        long Cost(string model, string range)
        {
            var options = Shears.Cli.Commands.ReproduceCommand.Effort(model, quick: false)
                .Options(Shears.Cli.Commands.ReproduceCommand.RangeFor(range, model), Shears.Pruning.AllocationKind.Sensitivity, seed: 1);
            return Shears.Cli.Commands.ReproduceCommand.SearchCost(Shears.Models.ModelZoo.Create(model).MultiplyAddsPerSample(), options);
        }
        long cnn3Floor = Cost("cnn3", "paper-floor"), cnn3Iso = Cost("cnn3", "iso-accuracy");
        long fcn2Floor = Cost("fcn2", "paper-floor"), fcn2Iso = Cost("fcn2", "iso-accuracy");
        long fcn1Floor = Cost("fcn1", "paper-floor"), fcn1Iso = Cost("fcn1", "iso-accuracy");
        Assert.Equal(cnn3Floor, cnn3Iso);
        Assert.True(cnn3Iso > fcn2Iso, $"{cnn3Iso} vs {fcn2Iso}");
        Assert.Equal(266_200L * 50 * 10, fcn2Iso);
        Assert.Equal(266_200L * 20 * 10, fcn2Floor);
        Assert.True(fcn2Floor > Math.Max(fcn1Floor, fcn1Iso));
        // A search without re-learning still counts its rounds.
        Assert.Equal(7_840L * 3, Shears.Cli.Commands.ReproduceCommand.SearchCost(7_840, new Shears.Pruning.PruningOptions(
            Shears.Pruning.AccuracyRange.AtLeast(0.9)) { Rounds = 3, RelearnEpochs = 0 }));
    }

    [Fact]
    public void Model_effort_names_only_what_differs_from_the_pruners_defaults()
    {
        var range = new Shears.Pruning.AccuracyRange(0.93, null);
        var defaults = new Shears.Pruning.PruningOptions(range);

        var fcn2 = Shears.Cli.Commands.ReproduceCommand.Effort("fcn2", quick: false).Options(range, Shears.Pruning.AllocationKind.Sensitivity, seed: 2);
        Assert.Equal(1e-3f, fcn2.RelearnLearningRate);
        Assert.Equal(0.9, fcn2.DistillWeight);
        Assert.Equal(10, fcn2.MaxStepBacks);
        Assert.Equal(defaults.StepBudget, fcn2.StepBudget);
        Assert.Null(fcn2.SensitivityImages);
        Assert.Equal(fcn2.RelearnEpochs, fcn2.RescueEpochs);
        Assert.Equal(2, fcn2.Seed);
        Assert.Equal(2, fcn2.MarginStandardErrors);
        // FCN-2 stops earlier at absolute floors (far inside its target) than at iso-accuracy.
        Assert.Equal(20, fcn2.Rounds);
        var fcn2Iso = Shears.Cli.Commands.ReproduceCommand.Effort("fcn2", quick: false).Options(new Shears.Pruning.AccuracyRange(null, 0.2), Shears.Pruning.AllocationKind.Sensitivity, seed: 2);
        Assert.Equal(50, fcn2Iso.Rounds);
        var cnn3 = Shears.Cli.Commands.ReproduceCommand.Effort("cnn3", quick: false).Options(range, Shears.Pruning.AllocationKind.Sensitivity, 1);
        Assert.Equal(25, cnn3.Rounds);
        Assert.Equal(8, cnn3.MaxStepBacks);
        Assert.Equal(4, cnn3.RelearnEpochs);
        Assert.Equal(cnn3.RelearnEpochs, cnn3.RescueEpochs);
        Assert.Equal(0, cnn3.DropMargin);

        var fcn1 = Shears.Cli.Commands.ReproduceCommand.Effort("fcn1", quick: false).Options(range, Shears.Pruning.AllocationKind.Global, seed: 1);
        Assert.Equal(5e-3f, fcn1.RelearnLearningRate);
        Assert.Equal(1.0, fcn1.StepBudget);
        Assert.Equal(Shears.Pruning.CriterionKind.Fisher, fcn1.Criterion);
        Assert.Equal(Shears.Pruning.AllocationKind.Global, fcn1.Allocation);
        Assert.Equal(defaults.MaxStepBacks, fcn1.MaxStepBacks);
        Assert.Equal(0, fcn1.DistillWeight);
        Assert.Equal(0, fcn1.DropMargin);
        Assert.Equal(0, fcn2.DropMargin);
        // Every model holds a largest drop at 95% confidence. FCN-2 and CNN-3 re-learn on shifted images at iso-accuracy only (range here is the absolute floor); FCN-1 never does.
        Assert.Equal(0.95, fcn1.Confidence);
        Assert.Equal(0.95, cnn3.Confidence);
        Assert.Equal(0.95, fcn2.Confidence);
        var fcn1Iso = Shears.Cli.Commands.ReproduceCommand.Effort("fcn1", quick: false).Options(fcn2Iso.Range, default, 1);
        var cnn3Iso = Shears.Cli.Commands.ReproduceCommand.Effort("cnn3", quick: false).Options(fcn2Iso.Range, default, 1);
        // Floors (fcn1, fcn2, cnn3), then iso-accuracy (fcn1, fcn2, cnn3): FCN-2 (2 px) and CNN-3 (1 px) shift at iso-accuracy only, and FCN-1
        // re-learns with weight decay at its floor only.
        Shears.Pruning.PruningOptions[] settings = [fcn1, fcn2, cnn3, fcn1Iso, fcn2Iso, cnn3Iso];
        Assert.Equal([0, 0, 0, 0, 2, 1], settings.Select(o => o.RelearnShift));
        Assert.Equal([0.05f, 0f, 0f, 0f, 0f, 0f], settings.Select(o => o.RelearnWeightDecay));
        // FCN-1 ranks by Fisher at both ranges, CNN-3 at its floor only; no run tries a second criterion beside its own.
        Assert.Equal([0, 0, 0, 0, 0, 0], settings.Select(o => o.AlsoTry.Count));
        Assert.Equal([Shears.Pruning.CriterionKind.Fisher, Shears.Pruning.CriterionKind.Magnitude, Shears.Pruning.CriterionKind.Fisher,
            Shears.Pruning.CriterionKind.Fisher, Shears.Pruning.CriterionKind.Magnitude, Shears.Pruning.CriterionKind.Magnitude], settings.Select(o => o.Criterion));
        // FCN-1 re-learns faster at its floor; the others at one rate for both ranges.
        Assert.Equal([5e-3f, 1e-3f, cnn3Iso.RelearnLearningRate, 3e-3f, 1e-3f, cnn3Iso.RelearnLearningRate], settings.Select(o => o.RelearnLearningRate));
        Assert.Equal(0, Shears.Cli.Commands.ReproduceCommand.Effort("fcn2", quick: true).Options(range, default, 1).RelearnShift);
        // Baselines re-learn as long as the pruner did, except where a model caps it.
        Assert.Equal(400, Shears.Cli.Commands.ReproduceCommand.Effort("fcn1", quick: false).BaselineRelearnEpochs(400));
        Assert.Equal(10, Shears.Cli.Commands.ReproduceCommand.Effort("cnn3", quick: false).BaselineRelearnEpochs(26));
        Assert.Equal(8, Shears.Cli.Commands.ReproduceCommand.Effort("cnn3", quick: false).BaselineRelearnEpochs(8));
        Assert.Equal(2000, Shears.Cli.Commands.ReproduceCommand.Effort("cnn3", quick: false).Options(range, default, 1).SensitivityImages);
    }
}
