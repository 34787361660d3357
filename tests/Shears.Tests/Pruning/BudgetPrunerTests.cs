using Shears.Data;
using System.Text.Json;
using Shears.Nn;
using Shears.Pruning;
using Shears.Tensors;
using Shears.Training;

namespace Shears.Tests.Pruning;

public sealed class BudgetPrunerTests
{
    private static PruningReport Prune(Sequential model, PruningOptions options, IProgress<PruningProgress>? progress = null)
    {
        var data = PruningTestSupport.Mnist;
        return new BudgetPruner(options).Prune(model, data.Train, data.Validation, data.Test, progress);
    }

    private static void AssertPrunedWeightsAreExactlyZero(Sequential model)
    {
        Assert.Contains(model.PrunableParameters, p => p.Mask is not null);
        foreach (var p in model.PrunableParameters.Where(p => p.Mask is not null))
        {
            var v = p.Value.ReadOnlySpan;
            var m = p.Mask!.ReadOnlySpan;
            for (int i = 0; i < v.Length; i++)
                if (m[i] == 0f) Assert.True(v[i] == 0f, $"{p.Name}[{i}] is pruned but holds {v[i]}.");
        }
    }

    [Fact]
    public void The_pruner_ends_inside_the_range_on_a_small_mnist_network()
    {
        var model = PruningTestSupport.TrainedSmall();
        var events = new List<PruningProgress>();
        var report = Prune(model, new PruningOptions(AccuracyRange.WithinDrop(1.0)) { RelearnEpochs = 1, Rounds = 2 }, new SyncProgress(events.Add));

        double floor = report.Original.ValidationAccuracy - 0.01;
        Assert.Equal(floor, report.Range.MinAccuracy, 12);
        Assert.Equal(1.0, report.Range.MaxDrop);
        Assert.Null(report.Range.RequestedMinAccuracy);
        Assert.Equal(0.01, report.Range.ErrorBudget, 12);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, floor), $"Final {report.Pruned.ValidationAccuracy} is below the floor {floor}.");
        Assert.Equal(Evaluator.Evaluate(model, PruningTestSupport.Mnist.Validation).Accuracy, report.Pruned.ValidationAccuracy);

        var (total, kept) = model.Connections();
        Assert.Equal(784 * 64 + 64 * 10, total);
        Assert.Equal(total, report.ConnectionsTotal);
        Assert.Equal(kept, report.ConnectionsKept);
        Assert.True(kept < total / 2, $"Kept {kept} of {total}: a 1-point budget should prune more than half of this network.");
        Assert.Equal((double)kept / total, report.KeptFraction, 12);
        Assert.Equal((double)total / kept, report.Compression, 12);
        Assert.Equal(report.Pruned.ValidationAccuracy - floor, report.MarginValidation, 12);
        // On test the range is the original's test accuracy minus the drop; the test set decides nothing.
        double testFloor = report.Original.TestAccuracy!.Value - 0.01;
        Assert.Equal(testFloor, report.Range.TestFloor!.Value, 12);
        Assert.Equal(report.Pruned.TestAccuracy!.Value - testFloor, report.MarginTest!.Value, 12);
        Assert.True(report.MarginValidation >= -AccuracyRange.Tolerance);
        AssertPrunedWeightsAreExactlyZero(model);

        Assert.Equal(["fc1.weight", "fc2.weight"], report.Layers.Select(l => l.Name));
        Assert.Equal(kept, report.Layers.Sum(l => l.Kept));
        Assert.All(report.Layers, l => Assert.Equal(model.GetParameter(l.Name).KeptCount, l.Kept));
        Assert.All(report.Layers.Where(l => l.Kept < l.Connections), l => Assert.True(l.Threshold > 0 && l.Budget is >= 0));
        Assert.True(report.Layers.Sum(l => l.Budget ?? 0) <= report.Rounds.Max(r => r.StepBudget) + 1e-9 || report.Rounds.Count > 1);
        // A round's step budget: at least the option's (2 points) and what was left of the error budget.
        Assert.All(report.Rounds, r => Assert.True(r.StepBudget >= r.BudgetAvailable - 1e-12));
        Assert.Equal(0.02, report.Rounds[0].StepBudget, 12);

        Assert.InRange(report.Rounds.Count, 1, 2);
        Assert.Equal(RoundOutcome.Accepted, report.Rounds[0].Outcome);
        Assert.Equal(report.Rounds[0].ValidationBeforeRelearn, report.AfterPruning.ValidationAccuracy);
        Assert.Equal(report.Original.ValidationAccuracy, report.Rounds[0].ValidationAtStart);
        Assert.Equal(total, report.Rounds[0].KeptBefore);
        Assert.All(report.Rounds.Where(r => r.Accepted), r => Assert.True(AccuracyRange.Holds(r.ValidationAfterRelearn, floor)));
        Assert.Equal(kept, report.Rounds.Last(r => r.Accepted).Kept);

        Assert.Equal(["fc1.weight", "fc2.weight"], report.Sensitivity.Keys.Order());
        Assert.All(report.Sensitivity.Values, c => Assert.True(c.Count >= PruningOptions.DefaultSparsityGrid.Count));
        Assert.All(report.Sensitivity.Values, c => Assert.Equal(0, c[0].Sparsity));

        Assert.Contains(events, e => e.Phase == PruningPhase.Sensitivity && e.Layer == "fc2.weight");
        Assert.Contains(events, e => e.Phase == PruningPhase.Relearn && e.Training is not null);
        Assert.Equal(PruningPhase.Done, events[^1].Phase);
    }

    [Fact]
    public void The_report_serialises_to_the_field_names_the_cli_reads()
    {
        var model = PruningTestSupport.TrainedSmall();
        var report = Prune(model, new PruningOptions(new AccuracyRange(0.5, 0.5)) { RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 });
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        foreach (string field in new[] { "connectionsTotal", "connectionsKept", "keptFraction", "compression", "range", "original", "afterPruning",
                     "pruned", "marginValidation", "marginTest", "seconds", "allocation", "criterion", "layers", "rounds", "sensitivity" })
            Assert.True(root.TryGetProperty(field, out _), $"The report JSON lacks '{field}': {json}");
        Assert.Equal("Sensitivity", root.GetProperty("allocation").GetString());
        Assert.Equal("Magnitude", root.GetProperty("criterion").GetString());
        Assert.True(root.GetProperty("range").TryGetProperty("minAccuracy", out _));
        Assert.True(root.GetProperty("range").TryGetProperty("maxDrop", out _));
        Assert.True(root.GetProperty("original").TryGetProperty("validationAccuracy", out _));
        Assert.True(root.GetProperty("pruned").TryGetProperty("testAccuracy", out _));
        var layer = root.GetProperty("layers")[0];
        foreach (string field in new[] { "name", "connections", "kept", "budget", "threshold" })
            Assert.True(layer.TryGetProperty(field, out _), $"A layer lacks '{field}'.");
        Assert.Equal("fc1.weight", layer.GetProperty("name").GetString());
        Assert.True(root.GetProperty("sensitivity").TryGetProperty("fc1.weight", out var curve));
        Assert.True(curve[0].TryGetProperty("sparsity", out _) && curve[0].TryGetProperty("accuracy", out _));

        var back = JsonSerializer.Deserialize<PruningReport>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.Equal(report.ConnectionsKept, back.ConnectionsKept);
        Assert.Equal(report.Range, back.Range);
        Assert.Equal(report.Pruned, back.Pruned);
        Assert.Equal(report.Layers, back.Layers);
        Assert.Equal(report.Rounds, back.Rounds);
        Assert.Equal(report.Sensitivity["fc2.weight"], back.Sensitivity["fc2.weight"]);
        Assert.Equal(report.MarginValidation, back.MarginValidation);
    }

    [Fact]
    public void A_convolutional_network_is_pruned_inside_the_range_too()
    {
        var model = new Sequential("tinycnn", [1, 28, 28],
            new Conv2d("conv1", 1, 4, 3, padding: 1), new Relu("relu1"), new MaxPool2d("pool1", 2),
            new Conv2d("conv2", 4, 8, 3, padding: 1), new Relu("relu2"), new MaxPool2d("pool2", 2),
            new Flatten("flatten"), new Linear("fc", 8 * 7 * 7, 10));
        Initializer.HeUniform(model, 4);
        var data = PruningTestSupport.Mnist;
        var train = data.Train.Take(2000);
        var validation = data.Validation.Take(500);
        new Trainer(model, new TrainingOptions { Epochs = 1, BatchSize = 64, Seed = 4 }).Train(train);
        var report = new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(2.0))
        {
            Criterion = CriterionKind.ActivationAware, RelearnEpochs = 1, Rounds = 1, RefinePasses = 1,
        }).Prune(model, train, validation, null);

        Assert.Equal(["conv1.weight", "conv2.weight", "fc.weight"], report.Layers.Select(l => l.Name));
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);
        AssertPrunedWeightsAreExactlyZero(model);
    }

    [Fact]
    public void A_round_that_ends_outside_the_range_is_stepped_back_to_the_last_network_inside_it()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        ModelState? afterRoundOne = null;
        // Round 1 re-learns nothing and is accepted; round 2's "re-learning" wrecks the output layer, so the round
        // ends far outside the range; round 3 gets the halved budget and re-learns nothing again.
        var relearner = new ScriptedRelearner((call, m) =>
        {
            if (call == 1) afterRoundOne = m.Snapshot();
            if (call == 2) m.GetParameter("fc2.weight").Value.Span.Clear();
        });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 2, RefinePasses = 0, RescueEpochs = 0, AcceptAsPruned = false };
        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, data.Test);

        Assert.Equal(2, relearner.Calls);
        Assert.Equal(2, report.Rounds.Count);
        Assert.Equal(RoundOutcome.Accepted, report.Rounds[0].Outcome);
        Assert.Equal(RoundOutcome.SteppedBack, report.Rounds[1].Outcome);
        Assert.False(report.Rounds[1].Accepted);
        Assert.Equal(1, report.StepBacks);
        Assert.True(report.Rounds[1].ValidationAfterRelearn < report.Range.MinAccuracy);
        Assert.True(report.Rounds[1].Kept < report.Rounds[0].Kept, "Round 2 should have pruned further before it was stepped back.");

        // The model is round 1's network, bit for bit, masks included.
        Assert.NotNull(afterRoundOne);
        foreach (var p in model.Parameters)
        {
            Assert.Equal(afterRoundOne!.Values[p.Name], p.Value.ReadOnlySpan.ToArray());
            Assert.Equal(afterRoundOne.Masks.TryGetValue(p.Name, out var m) ? m : null, p.Mask?.ReadOnlySpan.ToArray());
        }
        Assert.Equal(report.Rounds[0].Kept, report.ConnectionsKept);
        Assert.Equal(report.Rounds[0].ValidationAfterRelearn, report.Pruned.ValidationAccuracy);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
    }

    [Fact]
    public void A_round_just_outside_the_range_gets_a_rescue_re_learning_and_is_kept_when_it_gets_back_inside()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        float[]? pruned = null;
        // The round's re-learning wrecks the output layer (outside the range); the rescue re-learning restores it.
        var relearner = new ScriptedRelearner((call, m) =>
        {
            var w = m.GetParameter("fc2.weight").Value.Span;
            if (call == 1) { pruned = w.ToArray(); w.Clear(); }
            if (call == 2) pruned!.CopyTo(w);
        });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, RescueEpochs = 3, AcceptAsPruned = false };
        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        Assert.Equal(2, relearner.Calls);
        Assert.Equal([1, 3], relearner.Epochs);
        var round = Assert.Single(report.Rounds);
        Assert.Equal(RoundOutcome.Rescued, round.Outcome);
        Assert.True(round.Accepted);
        Assert.Equal(3, round.RescueEpochs);
        // What the rescue started from: the wrecked network, outside the range, where the rescue ended inside it.
        Assert.False(AccuracyRange.Holds(round.ValidationBeforeRescue!.Value, report.Range.MinAccuracy));
        Assert.True(round.ValidationAfterRelearn > round.ValidationBeforeRescue);
        Assert.InRange(round.RescueSeconds!.Value, 0, round.Seconds);
        Assert.Equal(0, report.StepBacks);
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);
        Assert.Equal(round.Kept, report.ConnectionsKept);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
    }

    [Fact]
    public void A_round_whose_re_learning_loses_accuracy_is_accepted_as_pruned_when_that_is_inside_the_range()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        ModelState? asPruned = null;
        // The round's "re-learning" wrecks the output layer; the network as pruned (a 1-point step inside a
        // 2-point range) is what the round keeps.
        var relearner = new ScriptedRelearner((call, m) =>
        {
            asPruned = m.Snapshot();
            m.GetParameter("fc2.weight").Value.Span.Clear();
        });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, RescueEpochs = 2, StepBudget = 1.0 };
        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        Assert.Equal(1, relearner.Calls);   // no rescue: the round was inside the range without one
        var round = Assert.Single(report.Rounds);
        Assert.Null(round.ValidationBeforeRescue);
        Assert.Null(round.RescueSeconds);
        Assert.Equal(RoundOutcome.AcceptedAsPruned, round.Outcome);
        Assert.True(round.Accepted);
        Assert.Equal(round.ValidationBeforeRelearn, round.ValidationAfterRelearn);
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);
        Assert.Equal(round.ValidationBeforeRelearn, report.Pruned.ValidationAccuracy);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
        foreach (var p in model.Parameters) Assert.Equal(asPruned!.Values[p.Name], p.Value.ReadOnlySpan.ToArray());

        // Asked to re-learn every round, as the paper does, the same round ends outside the range and is stepped back.
        var strict = new BudgetPruner(options with { AcceptAsPruned = false, RescueEpochs = 0 }, new ScriptedRelearner((_, m) => m.GetParameter("fc2.weight").Value.Span.Clear()))
            .Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.Equal(RoundOutcome.SteppedBack, Assert.Single(strict.Rounds).Outcome);
    }

    [Theory]
    // As pruned inside: kept when re-learning ended outside (by the floor or, with a confidence, by the bound
    // while more accurate), or inside but less accurate; the re-learned network wins ties.
    [InlineData(true, 0.990, false, 0.980, true)]
    [InlineData(true, 0.990, false, 0.995, true)]
    [InlineData(true, 0.990, true, 0.985, true)]
    [InlineData(true, 0.990, true, 0.990, false)]
    [InlineData(true, 0.990, true, 0.995, false)]
    // As pruned outside: never kept, whatever re-learning did.
    [InlineData(false, 0.990, false, 0.980, false)]
    [InlineData(false, 0.990, true, 0.985, false)]
    public void A_round_keeps_the_network_as_pruned_only_when_it_is_inside_and_the_re_learned_one_is_outside_or_less_accurate(
        bool asPrunedInside, double asPrunedAccuracy, bool relearnedInside, double relearnedAccuracy, bool expected) =>
        Assert.Equal(expected, BudgetPruner.PrefersAsPruned(asPrunedInside, asPrunedAccuracy, relearnedInside, relearnedAccuracy));

    [Fact]
    public void A_round_the_rescue_cannot_bring_back_is_stepped_back()
    {
        var model = PruningTestSupport.TrainedSmall();
        var original = model.Snapshot();
        var data = PruningTestSupport.Mnist;
        var relearner = new ScriptedRelearner((call, m) => m.GetParameter("fc2.weight").Value.Span.Clear());
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, RescueEpochs = 2, AcceptAsPruned = false };
        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        Assert.Equal(2, relearner.Calls);
        Assert.Equal(RoundOutcome.SteppedBack, Assert.Single(report.Rounds).Outcome);
        Assert.Equal(2, report.Rounds[0].RescueEpochs);
        Assert.Equal(report.Rounds[0].ValidationAfterRelearn, report.Rounds[0].ValidationBeforeRescue);   // the rescue changed nothing
        Assert.NotNull(report.Rounds[0].RescueSeconds);
        Assert.Equal(report.ConnectionsTotal, report.ConnectionsKept);
        foreach (var p in model.Parameters) Assert.Equal(original.Values[p.Name], p.Value.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Re_learning_distils_from_the_original_network_when_asked()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        var expected = Distillation.FromTeacher(model, data.Train, 3f, 0.8f);
        var relearner = new ScriptedRelearner((call, m) => { });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 2, RefinePasses = 0, DistillWeight = 0.8, DistillTemperature = 3 };

        new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        Assert.True(relearner.Calls >= 2, $"{relearner.Calls} re-learnings");
        // Every round (and rescue) distils from the original, not from the network the last round left.
        var first = relearner.Options[0].Distillation!;
        Assert.All(relearner.Options, o => Assert.Same(first, o.Distillation));
        Assert.Equal(0.8f, first.Weight);
        Assert.Equal(3f, first.Temperature);
        Assert.Equal(expected.Targets.ReadOnlySpan.ToArray(), first.Targets.ReadOnlySpan.ToArray());

        // A rescue distils too, even in a run whose rounds re-learn nothing.
        float[]? saved = null;
        var rescuing = new ScriptedRelearner((call, m) =>
        {
            var w = m.GetParameter("fc2.weight").Value.Span;
            if (call == 1) { saved = w.ToArray(); w.Clear(); }
            if (call == 2) saved!.CopyTo(w);
        });
        new BudgetPruner(options with { RelearnEpochs = 0, Rounds = 1, RescueEpochs = 1, AcceptAsPruned = false }, rescuing)
            .Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.Equal([0, 1], rescuing.Epochs);
        Assert.NotNull(rescuing.Options[1].Distillation);

        var plain = new ScriptedRelearner((call, m) => { });
        new BudgetPruner(options with { DistillWeight = 0 }, plain).Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.All(plain.Options, o => Assert.Null(o.Distillation));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(options with { DistillWeight = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(options with { DistillTemperature = 0.5 }));
    }

    [Fact]
    public void A_warm_up_that_raises_validation_accuracy_is_where_the_rounds_start_and_the_range_stays_the_originals()
    {
        var data = PruningTestSupport.Mnist;
        // The "original" is the trained network with noise on its output layer; the warm-up puts the clean weights back.
        var clean = PruningTestSupport.TrainedSmall().GetParameter("fc2.weight").Value.ReadOnlySpan.ToArray();
        var model = PruningTestSupport.TrainedSmall();
        var rng = new Random(5);
        var fc2 = model.GetParameter("fc2.weight").Value.Span;
        for (int i = 0; i < fc2.Length; i++) fc2[i] += (float)(rng.NextDouble() - 0.5);
        double noisy = Evaluator.Evaluate(model, data.Validation).Accuracy;
        var relearner = new ScriptedRelearner((call, m) => { if (call == 1) clean.CopyTo(m.GetParameter("fc2.weight").Value.Span); });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, WarmupEpochs = 3, RelearnShift = 1, DistillWeight = 0.5 };

        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        var warmup = Assert.IsType<WarmupReport>(report.Warmup);
        Assert.True(warmup.ValidationAccuracy > noisy, $"warm-up {warmup.ValidationAccuracy} against the original's {noisy}");
        Assert.True(warmup.Kept);
        Assert.Equal(3, warmup.Epochs);
        // It re-learned first, for its own epochs, with the rounds' shifts and the original's distillation targets.
        Assert.Equal(3, relearner.Epochs[0]);
        Assert.Equal(1, relearner.Options[0].MaxShift);
        Assert.Same(relearner.Options[1].Distillation, relearner.Options[0].Distillation);
        // The range is the original's; round 1 starts from the warmed-up network.
        Assert.Equal(noisy, report.Original.ValidationAccuracy);
        Assert.Equal(noisy - 0.02, report.Range.MinAccuracy, 12);
        Assert.Equal(warmup.ValidationAccuracy, report.Rounds[0].ValidationAtStart);
        Assert.True(report.Pruned.ValidationAccuracy >= report.Range.MinAccuracy);
    }

    [Fact]
    public void A_warm_up_that_lowers_validation_accuracy_is_dropped_and_the_rounds_start_from_the_original()
    {
        var data = PruningTestSupport.Mnist;
        var model = PruningTestSupport.TrainedSmall();
        var original = model.Snapshot();
        ModelState? atRoundOne = null;
        var relearner = new ScriptedRelearner((call, m) =>
        {
            if (call == 1) m.GetParameter("fc2.weight").Value.Span.Clear();
            if (call == 2) atRoundOne = m.Snapshot();
        });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, WarmupEpochs = 2 };

        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        var warmup = Assert.IsType<WarmupReport>(report.Warmup);
        Assert.False(warmup.Kept);
        Assert.True(warmup.ValidationAccuracy < report.Original.ValidationAccuracy);
        Assert.Equal(report.Original.ValidationAccuracy, report.Rounds[0].ValidationAtStart);
        // Round 1 pruned the original's weights, not the wrecked ones.
        var fc2 = atRoundOne!.Values["fc2.weight"];
        Assert.Contains(fc2, v => v != 0f);
        var kept = atRoundOne.Masks.TryGetValue("fc2.weight", out var mask) ? mask : null;
        for (int i = 0; i < fc2.Length; i++)
            if (kept is null || kept[i] != 0f) Assert.Equal(original.Values["fc2.weight"][i], fc2[i]);

        // Without warm-up epochs there is no warm-up, and round 1 is the first re-learning.
        var plain = new ScriptedRelearner((call, m) => { });
        var none = new BudgetPruner(options with { WarmupEpochs = 0 }, plain).Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.Null(none.Warmup);
        Assert.Equal(1, plain.Epochs[0]);
    }

    [Fact]
    public void A_warm_up_stopped_half_way_leaves_the_original_network()
    {
        var data = PruningTestSupport.Mnist;
        var model = PruningTestSupport.TrainedSmall();
        var original = model.Snapshot();
        var relearner = new ScriptedRelearner((call, m) =>
        {
            m.GetParameter("fc2.weight").Value.Span.Clear();
            throw new OperationCanceledException();
        });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, WarmupEpochs = 2 };

        Assert.Throws<OperationCanceledException>(() => new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null));

        Assert.Equal(1, relearner.Calls);
        foreach (var p in model.Parameters) Assert.Equal(original.Values[p.Name], p.Value.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Every_re_learning_decays_the_weights_when_asked_and_none_does_by_default()
    {
        var data = PruningTestSupport.Mnist;
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 2, RefinePasses = 0, RelearnWeightDecay = 0.05f, WarmupEpochs = 1 };
        var decaying = new ScriptedRelearner((call, m) => { });
        var report = new BudgetPruner(options, decaying).Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.True(decaying.Calls >= 2, $"{decaying.Calls} re-learnings");
        Assert.All(decaying.Options, o => Assert.Equal(0.05f, o.EffectiveWeightDecay));
        Assert.Equal(0.05, report.RelearnWeightDecay, 6);

        var plain = new ScriptedRelearner((call, m) => { });
        var none = new BudgetPruner(options with { RelearnWeightDecay = 0 }, plain).Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.All(plain.Options, o => Assert.Equal(0f, o.EffectiveWeightDecay));
        Assert.Equal(0, none.RelearnWeightDecay);
    }

    [Fact]
    public void Re_learning_shifts_the_training_images_when_asked_and_refuses_models_that_do_not_take_images()
    {
        var data = PruningTestSupport.Mnist;
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 1, Rounds = 2, RefinePasses = 0, RelearnShift = 2 };
        var shifting = new ScriptedRelearner((call, m) => { });
        var report = new BudgetPruner(options, shifting).Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null);
        Assert.True(shifting.Calls >= 1, $"{shifting.Calls} re-learnings");
        Assert.All(shifting.Options, o => Assert.Equal(2, o.MaxShift));
        Assert.Equal(2, report.RelearnShift);

        var plain = new ScriptedRelearner((call, m) => { });
        Assert.Equal(0, new BudgetPruner(options with { RelearnShift = 0 }, plain).Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, null).RelearnShift);
        Assert.All(plain.Options, o => Assert.Equal(0, o.MaxShift));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(options with { RelearnShift = -1 }));

        // A network that takes flat vectors has no rows and columns to shift: refused before any work, by name.
        static Dataset Flat(Dataset d) => new(d.Name, d.Images, d.Labels, [d.SampleLength], d.ClassCount);
        var flat = new Sequential("flat", [784], new Linear("fc", 784, 10));
        var never = new ScriptedRelearner((call, m) => { });
        var e = Assert.Throws<ArgumentException>(() => new BudgetPruner(options, never).Prune(flat, Flat(data.Train), Flat(data.Validation), null));
        Assert.Contains("model 'flat'", e.Message);
        Assert.Equal(0, never.Calls);
    }

    [Fact]
    public void Sensitivity_can_be_measured_on_a_subset_while_the_range_is_checked_on_the_whole_validation_split()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        double subset = Evaluator.Evaluate(model, data.Validation.Take(100)).Accuracy;
        double whole = Evaluator.Evaluate(model, data.Validation).Accuracy;
        Assert.NotEqual(whole, subset); // the test needs the two to differ to tell them apart
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { RelearnEpochs = 0, Rounds = 1, RefinePasses = 1, SensitivityImages = 100 };

        var report = new BudgetPruner(options).Prune(model, data.Train, data.Validation, null);

        Assert.Equal(whole, report.Original.ValidationAccuracy);
        Assert.NotEmpty(report.Sensitivity);
        foreach (var (name, points) in report.Sensitivity)
        {
            Assert.Equal(subset, points.Single(p => p.Sparsity == 0).Accuracy);
            // Measured on 100 images: every accuracy is a whole number of images.
            Assert.All(points, p => Assert.Equal(Math.Round(p.Accuracy * 100), p.Accuracy * 100, 6));
        }
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);
        Assert.Equal(Evaluator.Evaluate(model, data.Validation).Accuracy, report.Pruned.ValidationAccuracy);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(options with { SensitivityImages = 0 }));
    }

    [Fact]
    public void After_a_step_back_the_next_round_takes_a_smaller_step()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        var relearner = new ScriptedRelearner((call, m) => { if (call == 1) m.GetParameter("fc2.weight").Value.Span.Clear(); });
        var options = new PruningOptions(AccuracyRange.WithinDrop(2.0)) { Rounds = 2, RefinePasses = 0, RescueEpochs = 0, AcceptAsPruned = false };
        var report = new BudgetPruner(options, relearner).Prune(model, data.Train, data.Validation, null);

        Assert.Equal(RoundOutcome.SteppedBack, report.Rounds[0].Outcome);
        Assert.Equal(report.Rounds[0].BudgetAvailable * 0.5, report.Rounds[1].BudgetGiven, 12);
        Assert.Equal(RoundOutcome.Accepted, report.Rounds[1].Outcome);
        Assert.Null(report.Pruned.TestAccuracy);
        Assert.Null(report.MarginTest);
    }

    [Fact]
    public void A_run_stopped_half_way_leaves_the_last_network_inside_the_range()
    {
        var model = PruningTestSupport.TrainedSmall();
        var original = model.Snapshot();
        var data = PruningTestSupport.Mnist;
        var relearner = new ScriptedRelearner((_, _) => throw new OperationCanceledException());
        var pruner = new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(1.0)) { RefinePasses = 0 }, relearner);
        Assert.Throws<OperationCanceledException>(() => pruner.Prune(model, data.Train, data.Validation, null));
        foreach (var p in model.Parameters)
        {
            Assert.Equal(original.Values[p.Name], p.Value.ReadOnlySpan.ToArray());
            Assert.Null(p.Mask);
        }
    }

    [Fact]
    public void An_original_already_below_the_floor_raises_a_range_exception()
    {
        var model = PruningTestSupport.TrainedSmall();
        var e = Assert.Throws<RangeException>(() => Prune(model, new PruningOptions(AccuracyRange.AtLeast(0.999))));
        Assert.Contains("percentage points", e.Message);
        Assert.True(e.Gap > 0);
        Assert.Null(model.GetParameter("fc1.weight").Mask);
    }

    [Fact]
    public void A_zero_drop_keeps_the_original_accuracy()
    {
        var model = PruningTestSupport.TrainedSmall();
        var report = Prune(model, new PruningOptions(AccuracyRange.WithinDrop(0)) { RelearnEpochs = 0, Rounds = 1 });
        Assert.Equal(0, report.Range.ErrorBudget);
        Assert.True(report.Pruned.ValidationAccuracy >= report.Original.ValidationAccuracy - AccuracyRange.Tolerance);
    }

    [Theory]
    [InlineData(AllocationKind.Global, CriterionKind.Magnitude)]
    [InlineData(AllocationKind.UniformSparsity, CriterionKind.Magnitude)]
    [InlineData(AllocationKind.Uniform, CriterionKind.ActivationAware)]
    [InlineData(AllocationKind.Size, CriterionKind.Magnitude)]
    public void Every_allocation_and_criterion_ends_inside_the_range(AllocationKind allocation, CriterionKind criterion)
    {
        var model = PruningTestSupport.TrainedSmall();
        var report = Prune(model, new PruningOptions(AccuracyRange.WithinDrop(1.0))
        {
            Allocation = allocation, Criterion = criterion, RelearnEpochs = 0, Rounds = 1, RefinePasses = 1,
        });
        Assert.Equal(allocation, report.Allocation);
        Assert.Equal(criterion, report.Criterion);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);
        AssertPrunedWeightsAreExactlyZero(model);
        if (BudgetAllocators.IsBudgetMethod(allocation)) Assert.NotEmpty(report.Sensitivity);
        else Assert.All(report.Layers, l => Assert.Null(l.Budget));
    }

    [Fact]
    public void Further_criteria_each_run_their_own_search_from_the_original_and_the_sparsest_result_is_kept()
    {
        var options = new PruningOptions(AccuracyRange.WithinDrop(1.0)) { RelearnEpochs = 0, Rounds = 2, RefinePasses = 1 };
        var alone = new[] { CriterionKind.Magnitude, CriterionKind.ActivationAware }
            .Select(c => Prune(PruningTestSupport.TrainedSmall(), options with { Criterion = c })).ToArray();
        // The two criteria must reach different places for the choice to mean anything.
        Assert.NotEqual(alone[0].ConnectionsKept, alone[1].ConnectionsKept);

        var model = PruningTestSupport.TrainedSmall();
        var events = new List<PruningProgress>();
        // On two or more cores the paths run side by side, each with its kernels on one thread; the results are the same.
        var report = Prune(model, options with { AlsoTry = [CriterionKind.ActivationAware] }, new SyncProgress(events.Add));

        // Each path is the whole search that criterion makes alone, from the same original.
        Assert.Equal([CriterionKind.Magnitude, CriterionKind.ActivationAware], report.Paths.Select(p => p.Criterion));
        Assert.Equal(alone.Select(r => r.ConnectionsKept), report.Paths.Select(p => p.ConnectionsKept));
        Assert.Equal(alone.Select(r => r.Pruned.ValidationAccuracy), report.Paths.Select(p => p.Pruned.ValidationAccuracy));
        var sparsest = alone.MinBy(r => r.ConnectionsKept)!;
        Assert.Equal(sparsest.Criterion, Assert.Single(report.Paths, p => p.Kept).Criterion);
        Assert.Equal(sparsest.Criterion, report.Criterion);
        Assert.Equal(sparsest.ConnectionsKept, report.ConnectionsKept);
        Assert.Equal(sparsest.Original.ValidationAccuracy, report.Original.ValidationAccuracy);
        Assert.True(report.Seconds >= report.Paths.Max(p => p.Seconds), $"{report.Seconds} s for paths of {string.Join(", ", report.Paths.Select(p => p.Seconds))} s");
        // The model ends as the kept path's network, inside the range.
        Assert.Equal(sparsest.ConnectionsKept, model.Connections().Kept);
        Assert.Equal(report.Pruned.ValidationAccuracy, Evaluator.Evaluate(model, PruningTestSupport.Mnist.Validation).Accuracy);
        Assert.True(AccuracyRange.Holds(report.Pruned.ValidationAccuracy, report.Range.MinAccuracy));
        AssertPrunedWeightsAreExactlyZero(model);
        Assert.Contains(events, e => e.Message.StartsWith("ActivationAware: path 2 of 2, from the original", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Message.StartsWith("Magnitude: Round 1", StringComparison.Ordinal));

        // A model that cannot be copied (a layer that cannot make a blank of itself, here one that passes its input
        // through) runs its paths one after the other on itself, to the same end.
        var trained = PruningTestSupport.TrainedSmall();
        var oneByOne = new Sequential(trained.Name, trained.InputShape, [.. trained.Layers, new PassThrough("same")]);
        Assert.Null(oneByOne.TryCopy());
        var sequential = Prune(oneByOne, options with { AlsoTry = [CriterionKind.ActivationAware] });
        Assert.Equal(report.Paths.Select(p => (p.Criterion, p.ConnectionsKept, p.Pruned, p.Kept)), sequential.Paths.Select(p => (p.Criterion, p.ConnectionsKept, p.Pruned, p.Kept)));
        Assert.Equal(model.Snapshot().Values, oneByOne.Snapshot().Values);
        Assert.Equal(model.Snapshot().Masks, oneByOne.Snapshot().Masks);

        Assert.Contains("once", Assert.Throws<ArgumentException>(() =>
            new BudgetPruner(options with { AlsoTry = [CriterionKind.Magnitude] })).Message);
        Assert.Empty(Prune(PruningTestSupport.TrainedSmall(), options with { Rounds = 1 }).Paths);
    }

    private sealed class PassThrough(string name) : Layer(name)
    {
        public override int[] OutputShape(ReadOnlySpan<int> inputShape) => inputShape.ToArray();
        public override Tensor Forward(Tensor input, bool training) => input;
        public override Tensor? Backward(Tensor outputGradient, bool needInputGradient) => outputGradient;
    }

    [Fact]
    public void Baselines_at_equal_kept_prune_the_original_to_exactly_that_many_and_leave_the_model_as_it_was()
    {
        var model = PruningTestSupport.TrainedSmall();
        var original = model.Snapshot();
        var data = PruningTestSupport.Mnist;
        var report = new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(1.0)) { RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 })
            .Prune(model, data.Train, data.Validation, data.Test);
        var prunedState = model.Snapshot();

        var results = BaselineComparison.CompareAtEqualKept(model, original, report.ConnectionsKept, data.Train, data.Validation, data.Test, relearnEpochs: 1);

        Assert.Equal([AllocationKind.Global, AllocationKind.UniformSparsity], results.Select(r => r.Allocation));
        Assert.All(results, r =>
        {
            Assert.Equal(report.ConnectionsKept, r.ConnectionsKept);
            Assert.Equal(report.ConnectionsKept, r.Layers.Sum(l => l.Kept));
            Assert.NotNull(r.AfterRelearn.TestAccuracy);
        });
        var uniform = results[1].Layers;
        Assert.Equal((double)uniform[0].Kept / uniform[0].Connections, (double)uniform[1].Kept / uniform[1].Connections, 2);
        foreach (var p in model.Parameters)
        {
            Assert.Equal(prunedState.Values[p.Name], p.Value.ReadOnlySpan.ToArray());
            Assert.Equal(prunedState.Masks.TryGetValue(p.Name, out var m) ? m : null, p.Mask?.ReadOnlySpan.ToArray());
        }

        // On two or more cores the two baselines re-learn side by side, each on its own copy; a model that cannot be
        // copied runs them one after the other on itself, to the same results.
        var trained = PruningTestSupport.TrainedSmall();
        var oneByOne = new Sequential(trained.Name, trained.InputShape, [.. trained.Layers, new PassThrough("same")]);
        Assert.Null(oneByOne.TryCopy());
        var sequential = BaselineComparison.CompareAtEqualKept(oneByOne, original, report.ConnectionsKept, data.Train, data.Validation, data.Test, relearnEpochs: 1);
        Assert.Equal(results.Select(r => (r.Allocation, r.ConnectionsKept, r.BeforeRelearn, r.AfterRelearn)),
            sequential.Select(r => (r.Allocation, r.ConnectionsKept, r.BeforeRelearn, r.AfterRelearn)));
        Assert.Equal(results.SelectMany(r => r.Layers), sequential.SelectMany(r => r.Layers));
        Assert.Empty(BaselineComparison.CompareAtEqualKept(model, original, report.ConnectionsKept, data.Train, data.Validation, data.Test, relearnEpochs: 1, baselines: []));
    }

    [Fact]
    public void Baselines_that_choose_the_same_connections_re_learn_once()
    {
        var data = PruningTestSupport.Mnist;
        int Relearnings(Sequential model, long kept)
        {
            var relearner = new ScriptedRelearner((_, _) => { });
            var results = BaselineComparison.Compare(model, model.Snapshot(), kept, data.Train, data.Validation, data.Test, relearnEpochs: 1,
                null, null, default, null, relearner);
            Assert.Equal([AllocationKind.Global, AllocationKind.UniformSparsity], results.Select(r => r.Allocation));
            Assert.All(results, r => Assert.Equal(kept, r.ConnectionsKept));
            if (relearner.Calls == 1)
            {
                Assert.Equal(results[0].AfterRelearn, results[1].AfterRelearn);
                Assert.Equal(results[0].Layers, results[1].Layers);
            }
            return relearner.Calls;
        }

        // One layer: one magnitude threshold and one sparsity are the same choice.
        var oneLayer = new Sequential("one", [1, 28, 28], new Flatten("flatten"), new Linear("fc", 784, 10));
        Initializer.HeUniform(oneLayer, seed: 3);
        Assert.Equal(1, Relearnings(oneLayer, 500));
        // Two layers of different sizes and scales: the global threshold takes them unevenly.
        Assert.Equal(2, Relearnings(PruningTestSupport.TrainedSmall(), 5000));
    }

    [Fact]
    public void A_drop_margin_is_kept_inside_a_largest_drop_and_never_lifts_the_floor_above_the_original()
    {
        var data = PruningTestSupport.Mnist;
        var report = Prune(PruningTestSupport.TrainedSmall(), new PruningOptions(AccuracyRange.WithinDrop(3)) { DropMargin = 1, RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 });

        Assert.Equal(report.Original.ValidationAccuracy - 0.03, report.Range.MinAccuracy, 12);
        Assert.Equal(0.01, report.Range.SafetyMargin, 12);
        Assert.Equal(0.02, report.Range.ErrorBudget, 9);
        Assert.True(report.MarginValidation >= 0.01 - AccuracyRange.Tolerance, $"Margin {report.MarginValidation} is inside the drop margin.");
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);

        // A margin wider than the drop asks for the original's accuracy, no more.
        var whole = Prune(PruningTestSupport.TrainedSmall(), new PruningOptions(AccuracyRange.WithinDrop(0.5)) { DropMargin = 2, RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 });
        Assert.Equal(0, whole.Range.ErrorBudget, 12);
        Assert.True(whole.Pruned.ValidationAccuracy >= whole.Original.ValidationAccuracy - AccuracyRange.Tolerance);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BudgetPruner(new PruningOptions(AccuracyRange.WithinDrop(1)) { DropMargin = -1 }));
    }

    [Fact]
    public void A_confidence_holds_the_upper_bound_of_the_paired_drop_within_the_largest_drop()
    {
        var data = PruningTestSupport.Mnist;
        var originalCorrect = new bool[data.Validation.Count];
        Evaluator.Evaluate(PruningTestSupport.TrainedSmall(), data.Validation, correct: originalCorrect);
        var options = new PruningOptions(AccuracyRange.WithinDrop(2)) { RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 };

        var plain = Prune(PruningTestSupport.TrainedSmall(), options);
        var model = PruningTestSupport.TrainedSmall();
        var confident = Prune(model, options with { Confidence = 0.95 });

        Assert.Null(plain.DropUpperBound);
        Assert.Null(plain.Range.Confidence);
        Assert.Equal(0.95, confident.Range.Confidence);
        // The bound reported is the final network's, recomputed here from both networks' predictions.
        var prunedCorrect = new bool[data.Validation.Count];
        Evaluator.Evaluate(model, data.Validation, correct: prunedCorrect);
        double lost = originalCorrect.Where((o, i) => o && !prunedCorrect[i]).Count(), won = originalCorrect.Where((o, i) => !o && prunedCorrect[i]).Count();
        int n = originalCorrect.Length;
        double drop = (lost - won) / n;
        double expected = drop + 1.6448536269514722 * Math.Sqrt(((lost + won) / n - drop * drop) / n);
        Assert.True(Math.Abs(confident.DropUpperBound!.Value - expected) <= 1e-8, $"{confident.DropUpperBound} against {expected}");
        Assert.True(confident.DropUpperBound <= 0.02 + AccuracyRange.Tolerance, $"The bound {confident.DropUpperBound} exceeds the 2-point drop.");
        // One round without re-learning prunes the same network either way; the bound can only refuse it.
        Assert.True(confident.ConnectionsKept >= plain.ConnectionsKept, $"{confident.ConnectionsKept} < {plain.ConnectionsKept}");
        Assert.True(plain.Original.ValidationAccuracy - plain.Pruned.ValidationAccuracy <= 0.02 + AccuracyRange.Tolerance);

        // An absolute floor takes no confidence: its margin is MarginStandardErrors'.
        var floor = Prune(PruningTestSupport.TrainedSmall(), new PruningOptions(AccuracyRange.AtLeast(0.5)) { Confidence = 0.95, RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 });
        Assert.Null(floor.DropUpperBound);
        Assert.Null(floor.Range.Confidence);
    }

    [Fact]
    public void Held_out_images_confirm_the_result_or_the_pruner_steps_back_to_the_newest_accepted_network_that_holds_there()
    {
        var data = PruningTestSupport.Mnist;
        var validation = data.Validation;
        var originalCorrect = new bool[validation.Count];
        Evaluator.Evaluate(PruningTestSupport.TrainedSmall(), validation, correct: originalCorrect);
        // Held out: the validation images the original gets right. It scores 100% there, so the floor is 97% at a
        // 3-point drop, and a network that is 3 points down on the searched images has lost more than 3 in 100 of
        // these (it loses (drop·n + won) of the n·accuracy images the original got right): the search's result fails.
        int[] rightByOriginal = Enumerable.Range(0, validation.Count).Where(i => originalCorrect[i]).ToArray();
        var held = validation.Gather("held", rightByOriginal);
        var searchedThenHeld = validation.Gather("v+held", [.. Enumerable.Range(0, validation.Count), .. rightByOriginal]);
        var options = new PruningOptions(AccuracyRange.WithinDrop(3)) { RelearnEpochs = 1, Rounds = 3, RefinePasses = 0 };

        var searchOnly = PruningTestSupport.TrainedSmall();
        var plain = new BudgetPruner(options).Prune(searchOnly, data.Train, validation, data.Test);
        var model = PruningTestSupport.TrainedSmall();
        var report = new BudgetPruner(options with { ConfirmationImages = held.Count }).Prune(model, data.Train, searchedThenHeld, data.Test);

        Assert.Null(plain.Confirmation);
        var c = report.Confirmation!;
        Assert.Equal(held.Count, c.Images);
        Assert.Equal(1.0, c.OriginalAccuracy);
        Assert.Equal(0.97, c.Floor, 12);
        // The search saw exactly the first images, so it went the same way as the run on them alone...
        Assert.Equal(plain.Rounds.Select(r => (r.Outcome, r.Kept)), report.Rounds.Select(r => (r.Outcome, r.Kept)));
        Assert.True(Evaluator.Evaluate(searchOnly, held).Accuracy < c.Floor, "The construction should make the search's result fail on the held-out images.");
        // ...and the held-out images sent it back to an earlier network the search accepted, inside the range there.
        Assert.True(c.StepBacks >= 1);
        Assert.True(AccuracyRange.Holds(c.PrunedAccuracy, c.Floor), $"{c.PrunedAccuracy} is below {c.Floor} (round {c.Round}).");
        Assert.Equal(Evaluator.Evaluate(model, held).Accuracy, c.PrunedAccuracy);
        Assert.True(report.ConnectionsKept > plain.ConnectionsKept);
        long keptAtRound = c.Round == 0 ? report.ConnectionsTotal : report.Rounds[c.Round - 1].Kept;
        Assert.Equal(keptAtRound, report.ConnectionsKept);
        Assert.Equal(model.Connections().Kept, report.ConnectionsKept);
        Assert.Equal(report.Rounds.Count(r => r.Accepted) - (c.Round == 0 ? 0 : report.Rounds.Take(c.Round).Count(r => r.Accepted)), c.StepBacks);
        // The report describes the network kept: accuracy on the searched images, and its layers.
        Assert.Equal(Evaluator.Evaluate(model, validation).Accuracy, report.Pruned.ValidationAccuracy);
        Assert.All(report.Layers, l => Assert.Equal(model.GetParameter(l.Name).KeptCount, l.Kept));
        Assert.True(c.Margin >= -AccuracyRange.Tolerance);
    }

    [Fact]
    public void A_result_that_holds_on_the_held_out_images_is_kept_and_holding_out_every_image_is_refused()
    {
        var data = PruningTestSupport.Mnist;
        var options = new PruningOptions(AccuracyRange.WithinDrop(2)) { RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 };
        var (searched, held) = data.Validation.SplitLast(400);
        var searchOnly = PruningTestSupport.TrainedSmall();
        var plain = new BudgetPruner(options).Prune(searchOnly, data.Train, searched, data.Test);
        var model = PruningTestSupport.TrainedSmall();

        var report = new BudgetPruner(options with { ConfirmationImages = 400 }).Prune(model, data.Train, data.Validation, data.Test);

        var c = report.Confirmation!;
        double original = Evaluator.Evaluate(PruningTestSupport.TrainedSmall(), held).Accuracy;
        Assert.Equal(original, c.OriginalAccuracy);
        Assert.Equal(original - 0.02, c.Floor, 12);
        Assert.Equal(Evaluator.Evaluate(model, held).Accuracy, c.PrunedAccuracy);
        Assert.Equal(c.PrunedAccuracy - c.Floor, c.Margin, 12);
        // One round: the search's result where it holds on the held-out images, else the original (the only other network accepted).
        bool holds = AccuracyRange.Holds(Evaluator.Evaluate(searchOnly, held).Accuracy, c.Floor);
        Assert.Equal(holds ? 0 : 1, c.StepBacks);
        Assert.Equal(c.StepBacks == 0 ? plain.ConnectionsKept : report.ConnectionsTotal, report.ConnectionsKept);
        Assert.Equal(c.StepBacks == 0 ? 1 : 0, c.Round);
        Assert.Equal(Evaluator.Evaluate(model, searched).Accuracy, report.Pruned.ValidationAccuracy);

        var e = Assert.Throws<ArgumentException>(() => new BudgetPruner(options with { ConfirmationImages = data.Validation.Count })
            .Prune(PruningTestSupport.TrainedSmall(), data.Train, data.Validation, data.Test));
        Assert.Contains("confirmation", e.Message);
        Assert.Contains(data.Validation.Name, e.Message);
    }

    [Fact]
    public void A_safety_margin_is_kept_above_an_absolute_floor_on_validation()
    {
        var model = PruningTestSupport.TrainedSmall();
        var data = PruningTestSupport.Mnist;
        double original = Evaluator.Evaluate(model, data.Validation).Accuracy;
        double floor = Math.Round(original - 0.03, 3);
        var report = Prune(model, new PruningOptions(AccuracyRange.AtLeast(floor)) { SafetyMargin = 1, RelearnEpochs = 0, Rounds = 1, RefinePasses = 0 });

        Assert.Equal(floor, report.Range.MinAccuracy, 12);
        Assert.Equal(0.01, report.Range.SafetyMargin, 12);
        Assert.Equal(original - floor - 0.01, report.Range.ErrorBudget, 9);
        Assert.True(report.MarginValidation >= 0.01 - AccuracyRange.Tolerance, $"Margin {report.MarginValidation} is inside the safety margin.");
        Assert.Equal(floor, report.Range.TestFloor!.Value, 12);
        Assert.True(report.ConnectionsKept < report.ConnectionsTotal);
    }

    [Fact]
    public void Re_learning_keeps_pruned_weights_at_exactly_zero()
    {
        var model = PruningTestSupport.TrainedSmall();
        Prune(model, new PruningOptions(AccuracyRange.WithinDrop(1.0)) { RelearnEpochs = 1, Rounds = 1, RefinePasses = 0, RelearnLearningRate = 1e-3f });
        AssertPrunedWeightsAreExactlyZero(model);
    }

    private sealed class SyncProgress(Action<PruningProgress> report) : IProgress<PruningProgress>
    {
        public void Report(PruningProgress value) => report(value);
    }
}
