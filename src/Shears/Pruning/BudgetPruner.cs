using System.Diagnostics;
using Shears.Data;
using Shears.Nn;
using Shears.Tensors;
using Shears.Training;

namespace Shears.Pruning;

/// <summary>
/// The paper's method: prune a trained network as far as a stated accuracy range allows. Each round measures every
/// layer's sensitivity, shares a <em>step budget</em> out among layers from those curves, prunes each layer at the
/// largest threshold its share allows (moving all layers back together by a common fraction when the combined
/// network costs more than the step), re-learns with the masks held, and checks the result against the range:
/// inside, it becomes the network to continue from; outside, the last network inside the range is restored and the
/// step halved. The step budget is not the guarantee: it may exceed what is left of the error budget (re-learning
/// wins most of it back), since only the check after re-learning decides. Every decision is made on the
/// validation split, so the result is always inside the range there; the test set is only reported.
/// </summary>
public sealed class BudgetPruner
{
    private readonly IRelearner _relearner;

    public BudgetPruner(PruningOptions options) : this(options, new TrainerRelearner()) { }

    internal BudgetPruner(PruningOptions options, IRelearner relearner)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _relearner = relearner;
    }

    public PruningOptions Options { get; }

    /// <summary>
    /// Prunes <paramref name="model"/> in place: on return it holds the final pruned and re-learned network, its
    /// masks set. Throws <see cref="RangeException"/> when the original is already outside the range. With
    /// <see cref="PruningOptions.ConfirmationImages"/>, the last that many of <paramref name="validation"/> are
    /// held out of the search and only confirm its result. With <see cref="PruningOptions.AlsoTry"/>, one search per
    /// criterion runs from the original and the model ends as the sparsest one's result.
    /// </summary>
    public PruningReport Prune(Sequential model, Dataset train, Dataset validation, Dataset? test,
        IProgress<PruningProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        var (searched, heldOut) = Options.SplitValidation(validation);
        return Options.AlsoTry.Count == 0
            ? new Run(this, Options, model, train, searched, heldOut, test, progress, ct).Execute()
            : PrunePaths(model, train, searched, heldOut, test, progress, ct);
    }

    private PruningReport PrunePaths(Sequential model, Dataset train, Dataset searched, Dataset? heldOut, Dataset? test,
        IProgress<PruningProgress>? progress, CancellationToken ct)
    {
        // One whole search per criterion, each from the original; the sparsest result is the one kept. With more than
        // one core and models to give them, they run side by side (KernelThreads.RunSideBySide).
        var clock = Stopwatch.StartNew();
        var criteria = Options.AlsoTry.Prepend(Options.Criterion).ToArray();
        var models = KernelThreads.Cores > 1 ? model.TryCopies(criteria.Length) : null;
        bool sideBySide = models is not null;
        var original = sideBySide ? null : model.Snapshot();
        var gate = new object();
        // Each path ends with its report and its network (one after the other, every path works on the model itself).
        (PruningReport Report, ModelState Network) Path(int i)
        {
            var criterion = criteria[i];
            var pathProgress = progress is null ? null : new Relay<PruningProgress>(p =>
            {
                lock (gate) progress.Report(p with { Message = $"{criterion}: {p.Message}" });
            });
            var target = models?[i] ?? model;
            original?.Restore(target);
            pathProgress?.Report(new PruningProgress(PruningPhase.Measure, 0, null, 0, 0,
                $"path {i + 1} of {criteria.Length}, from the original{(sideBySide ? ", beside the others" : "")}"));
            var options = Options with { Criterion = criterion, AlsoTry = [] };
            var report = new Run(this, options, target, train, searched, heldOut, test, pathProgress, ct).Execute();
            return (report, target.Snapshot());
        }
        var jobs = criteria.Select((_, i) => (Func<(PruningReport Report, ModelState Network)>)(() => Path(i))).ToArray();
        var ended = sideBySide ? KernelThreads.RunSideBySide(jobs) : jobs.Select(job => job()).ToArray();
        var reports = ended.Select(e => e.Report).ToArray();
        // The fewest connections; on a tie the higher validation accuracy, then the earlier criterion (the sort is stable).
        int best = Enumerable.Range(0, reports.Length)
            .OrderBy(i => reports[i].ConnectionsKept).ThenByDescending(i => reports[i].Pruned.ValidationAccuracy).First();
        ended[best].Network.Restore(model);
        var paths = reports.Select((r, i) => new PathReport(r.Criterion, r.ConnectionsKept, r.KeptFraction, r.Pruned, r.Seconds, i == best, r.Rounds)).ToArray();
        progress?.Report(new PruningProgress(PruningPhase.Done, 0, null, 0, 0,
            $"Kept the {criteria[best]} path: " + string.Join(", ", paths.Select(p => $"{p.Criterion} {p.ConnectionsKept}")), null,
            reports[best].Pruned.ValidationAccuracy, reports[best].ConnectionsKept));
        return reports[best] with { Seconds = clock.Elapsed.TotalSeconds, Paths = paths };
    }

    /// <summary>One call's state: the network to continue from, its accuracy, the rounds so far.</summary>
    private sealed class Run
    {
        private readonly BudgetPruner _owner;
        private readonly PruningOptions _o;
        private readonly Sequential _model;
        private readonly Dataset _train, _validation;
        private readonly Dataset? _confirmation, _test;
        private readonly IProgress<PruningProgress>? _progress;
        private readonly CancellationToken _ct;
        private readonly IReadOnlyList<PrunableWeight> _weights;
        private readonly ICriterion _criterion;
        private readonly double?[] _layerShare;
        private readonly double[] _layerThreshold;
        private readonly List<RoundReport> _rounds = [];
        private IReadOnlyDictionary<string, IReadOnlyList<SensitivityPoint>> _sensitivity = new Dictionary<string, IReadOnlyList<SensitivityPoint>>();
        private ModelState _lastGood = null!;
        // With held-out images, every network accepted so far, the original first: where the confirmation steps back to.
        private readonly List<AcceptedNetwork> _accepted = [];
        private Distillation? _teacher;
        private double _lastGoodAccuracy;
        private double _floor;
        private int _round;
        // With a confidence (PruningOptions.BoundsDrop): which validation images the original gets right, a buffer
        // for a candidate's, the bound's z, and the largest drop the bound may reach (accuracy units).
        private bool[]? _originalCorrect, _candidateCorrect;
        private double _z, _dropLimit;

        public Run(BudgetPruner owner, PruningOptions options, Sequential model, Dataset train, Dataset validation, Dataset? confirmation, Dataset? test,
            IProgress<PruningProgress>? progress, CancellationToken ct)
        {
            _owner = owner;
            _o = options;
            _model = model;
            _train = train;
            _validation = validation;
            _confirmation = confirmation;
            _test = test;
            _progress = progress;
            _ct = ct;
            CheckData(model, train, "training");
            CheckData(model, validation, "validation");
            if (confirmation is not null) CheckData(model, confirmation, "confirmation");
            if (test is not null) CheckData(model, test, "test");
            RandomShift.Check(_o.RelearnShift, model.InputShape, $"The samples of model '{model.Name}'");
            _weights = PrunableWeight.Of(model);
            if (_weights.Count == 0) throw new ArgumentException($"Model '{model.Name}' has no prunable weights.", nameof(model));
            _criterion = Criteria.Create(_o.Criterion, _o.EvaluationBatchSize);
            _layerShare = new double?[_weights.Count];
            _layerThreshold = new double[_weights.Count];
        }

        public PruningReport Execute()
        {
            var clock = Stopwatch.StartNew();
            Report(PruningPhase.Measure, "Measuring the original network");
            if (_o.BoundsDrop)
            {
                _originalCorrect = new bool[_validation.Count];
                _candidateCorrect = new bool[_validation.Count];
                _z = NonInferiority.Z(_o.Confidence);
                _dropLimit = _o.Range.MaxDrop!.Value / 100.0;
            }
            double originalValidation = Evaluator.Evaluate(_model, _validation, _o.EvaluationBatchSize, _ct, _originalCorrect).Accuracy;
            var original = new AccuracyPair(originalValidation, _test is null ? null : Evaluate(_test));
            _o.Range.EnsureContains(original.ValidationAccuracy);
            double? originalConfirmation = _confirmation is null ? null : Evaluate(_confirmation);
            double rangeFloor = _o.Range.Floor(original.ValidationAccuracy);
            _floor = _o.FloorFor(original.ValidationAccuracy, _validation.Count);
            _lastGood = _model.Snapshot();
            _lastGoodAccuracy = original.ValidationAccuracy;
            Remember();
            // Every re-learning (rounds, rescues, polish) distils from the original, so its outputs are recorded once, now.
            if (_o.Distils) Report(PruningPhase.Measure, "Recording the original network's outputs for distillation");
            _teacher = _o.TeacherFor(_model, _train, _ct);
            WarmupReport? warmup = null;
            AccuracyPair? afterPruning = null;
            var steps = new StepControl(_o);

            // Whatever stops a round (or the warm-up) half-way (cancellation, a diverging re-learning), the model is
            // left as the last network inside the range, never half pruned or half re-learned.
            try
            {
                warmup = WarmUp();
                for (_round = 1; _round <= _o.Rounds; _round++)
                {
                    _ct.ThrowIfCancellationRequested();
                    double available = _lastGoodAccuracy - _floor;
                    // With nothing left to spend, only re-learning can make room: without it, stop.
                    if (available <= AccuracyRange.Tolerance && _o.RelearnEpochs == 0) break;
                    available = Math.Max(available, 0);
                    var roundClock = Stopwatch.StartNew();
                    long keptBefore = _model.Connections().Kept;
                    // The step budget: what the pruning before re-learning may cost. Re-learning wins most of it
                    // back, so it may exceed what is left of the error budget; the check after re-learning against
                    // the true floor decides, and a step back halves it.
                    double step = _o.StepBudgetFor(available) * steps.Factor;
                    var attempt = PruneWithin(step);
                    if (attempt is null)
                    {
                        _lastGood.Restore(_model);
                        _rounds.Add(new RoundReport(_round, keptBefore, keptBefore, _lastGoodAccuracy, _lastGoodAccuracy, _lastGoodAccuracy,
                            RoundOutcome.NoGain, available, step, 0, 0, roundClock.Elapsed.TotalSeconds, 0));
                        Report(PruningPhase.Check, $"Round {_round}: nothing more to prune within the step budget", _lastGoodAccuracy);
                        if (!steps.NothingToPrune()) break;
                        continue;
                    }
                    afterPruning ??= new AccuracyPair(attempt.Accuracy, _test is null ? null : Evaluate(_test));

                    // Re-learning usually wins back most of what pruning cost; late in a run, when a round prunes
                    // little, it can lose more than it wins. The better of the two networks goes on to the check.
                    var asPruned = _o.AcceptAsPruned ? _model.Snapshot() : null;
                    var asPrunedVerdict = _o.AcceptAsPruned && _o.BoundsDrop ? Judge() : new Verdict(attempt.Accuracy, null);
                    _owner._relearner.Relearn(_model, _train, _o.RelearnTraining(_round, _o.RelearnEpochs, _teacher), RelearnProgress(), _ct);
                    Report(PruningPhase.Check, $"Round {_round}: checking the re-learned network against the range");
                    var verdict = Judge();
                    bool keptAsPruned = _o.AcceptAsPruned && PrefersAsPruned(Inside(asPrunedVerdict), asPrunedVerdict.Accuracy, Inside(verdict), verdict.Accuracy);
                    if (keptAsPruned)
                    {
                        asPruned!.Restore(_model);
                        verdict = asPrunedVerdict;
                    }
                    long kept = _model.Connections().Kept;
                    bool inside = Inside(verdict);
                    var outcome = keptAsPruned ? RoundOutcome.AcceptedAsPruned : inside ? RoundOutcome.Accepted : RoundOutcome.SteppedBack;
                    int rescue = 0;
                    double? beforeRescue = null, rescueSeconds = null;
                    if (!inside && _o.RescueEpochs > 0)
                    {
                        rescue = _o.RescueEpochs;
                        beforeRescue = verdict.Accuracy;
                        var rescueClock = Stopwatch.StartNew();
                        // Just outside: more re-learning of the same network, with its own shuffles, before giving the round up.
                        _owner._relearner.Relearn(_model, _train, _o.RelearnTraining(-_round, _o.RescueEpochs, _teacher), RelearnProgress(), _ct);
                        Report(PruningPhase.Check, $"Round {_round}: checking the network after a rescue re-learning");
                        verdict = Judge();
                        inside = Inside(verdict);
                        if (inside) outcome = RoundOutcome.Rescued;
                        rescueSeconds = rescueClock.Elapsed.TotalSeconds;
                    }
                    double accuracy = verdict.Accuracy;
                    _rounds.Add(new RoundReport(_round, keptBefore, kept, _lastGoodAccuracy, attempt.Accuracy, accuracy,
                        outcome, available, step, _lastGoodAccuracy - attempt.Accuracy,
                        attempt.Shrinks, roundClock.Elapsed.TotalSeconds, attempt.Interpolation, rescue, beforeRescue, rescueSeconds));
                    if (inside)
                    {
                        for (int l = 0; l < _weights.Count; l++)
                            if (attempt.Keeps[l] < attempt.Rankings[l].Kept)
                            {
                                _layerShare[l] = attempt.Shares?[l];
                                _layerThreshold[l] = attempt.Rankings[l].ThresholdFor(attempt.Keeps[l]);
                            }
                        _lastGood = _model.Snapshot();
                        _lastGoodAccuracy = accuracy;
                        Remember();
                        Report(PruningPhase.Check, $"Round {_round}: inside the range, {kept} of {_model.Connections().Total} connections kept", accuracy, kept);
                        if (!steps.Accepted(keptBefore, kept)) break;
                    }
                    else
                    {
                        _lastGood.Restore(_model);
                        Report(PruningPhase.StepBack,
                            $"Round {_round}: {Outside(verdict)}; stepped back to the last network inside the range",
                            _lastGoodAccuracy, keptBefore);
                        if (!steps.SteppedBack()) break;
                    }
                }
                Polish();
            }
            catch
            {
                _lastGood.Restore(_model);
                throw;
            }

            var confirmation = originalConfirmation is double oc ? Confirm(oc) : null;
            var final = Judge();
            var pruned = new AccuracyPair(final.Accuracy, _test is null ? null : Evaluate(_test));
            var (total, keptFinal) = _model.Connections();
            var layers = _weights.Select((w, l) => new LayerReport(w.Name, w.Weight.Count, w.Weight.KeptCount, _layerShare[l], _layerThreshold[l])).ToArray();
            Report(PruningPhase.Done, $"Kept {keptFinal} of {total} connections", pruned.ValidationAccuracy, keptFinal);
            return new PruningReport
            {
                Model = _model.Name,
                ConnectionsTotal = total,
                ConnectionsKept = keptFinal,
                Range = new RangeReport(rangeFloor, _o.Range.MaxDrop, _o.Range.MinAccuracy, original.ValidationAccuracy - _floor, _o.Range.Describe(),
                    original.TestAccuracy is double t ? _o.Range.Floor(t) : null, _floor - rangeFloor, _o.BoundsDrop ? _o.Confidence : null),
                Original = original,
                AfterPruning = afterPruning ?? original,
                Pruned = pruned,
                DropUpperBound = final.DropBound,
                Confirmation = confirmation,
                Warmup = warmup,
                Seconds = clock.Elapsed.TotalSeconds,
                Allocation = _o.Allocation,
                Criterion = _o.Criterion,
                RelearnEpochs = _o.RelearnEpochs,
                DistillWeight = _o.DistillWeight,
                DistillTemperature = _o.Distils ? _o.DistillTemperature : 0,
                RelearnShift = _o.RelearnShift,
                RelearnWeightDecay = _o.RelearnWeightDecay,
                StepBacks = steps.StepBacks,
                Layers = layers,
                Rounds = _rounds,
                Sensitivity = _sensitivity,
            };
        }

        /// <summary>
        /// Re-learns the original before the first round (<see cref="PruningOptions.WarmupEpochs"/>) and keeps the
        /// result only when its validation accuracy has not fallen and it is inside the range. The range and the
        /// distillation targets stay the original's.
        /// </summary>
        private WarmupReport? WarmUp()
        {
            if (_o.WarmupEpochs == 0) return null;
            _round = 0;
            var (kept, accuracy) = RelearnIfNoWorse(_o.WarmupEpochs);
            Report(PruningPhase.Check, $"Warm-up: validation accuracy {AccuracyRange.Percent(accuracy)}, " +
                (kept ? "the rounds start from it" : "below the original's, so the rounds start from the original"), _lastGoodAccuracy);
            return new WarmupReport(_o.WarmupEpochs, accuracy, kept);
        }

        /// <summary>
        /// A last re-learning of the accepted network (masks held), kept only when its validation accuracy is at
        /// least what it was: it never prunes, it only buys margin.
        /// </summary>
        private void Polish()
        {
            if (_o.PolishEpochs == 0 || _rounds.All(r => !r.Accepted)) return;
            _lastGood.Restore(_model);
            _round = _rounds.Count + 1;
            var (kept, accuracy) = RelearnIfNoWorse(_o.PolishEpochs);
            if (kept) Report(PruningPhase.Check, $"Polish: validation accuracy {AccuracyRange.Percent(accuracy)}", accuracy);
        }

        /// <summary>
        /// Re-learns the last network inside the range for <paramref name="epochs"/> (no pruning) and keeps the result
        /// only when its validation accuracy has not fallen and it is inside the range; otherwise restores the network.
        /// </summary>
        private (bool Kept, double Accuracy) RelearnIfNoWorse(int epochs)
        {
            _owner._relearner.Relearn(_model, _train, _o.RelearnTraining(_round, epochs, _teacher), RelearnProgress(), _ct);
            var verdict = Judge();
            bool kept = verdict.Accuracy >= _lastGoodAccuracy && Inside(verdict);
            if (kept)
            {
                _lastGood = _model.Snapshot();
                _lastGoodAccuracy = verdict.Accuracy;
                Remember();
            }
            else _lastGood.Restore(_model);
            return (kept, verdict.Accuracy);
        }

        /// <summary>A network the search accepted, with the per-layer shares and thresholds it was pruned at.</summary>
        private sealed record AcceptedNetwork(int Round, ModelState State, double Accuracy, double?[] Shares, double[] Thresholds);

        /// <summary>Adds the network to continue from (<see cref="_lastGood"/>) to the accepted ones, which only the confirmation needs.</summary>
        private void Remember()
        {
            if (_confirmation is not null)
                _accepted.Add(new AcceptedNetwork(_round, _lastGood, _lastGoodAccuracy, (double?[])_layerShare.Clone(), (double[])_layerThreshold.Clone()));
        }

        /// <summary>
        /// Checks the search's result on the held-out images against the range's own floor there and, when it falls
        /// below, steps back through the accepted networks, newest first, to the first that holds; leaves the model
        /// as that network. Only when none holds (the original below an absolute floor on these images) is the
        /// original kept, and the report says it is outside.
        /// </summary>
        private ConfirmationReport Confirm(double originalAccuracy)
        {
            var held = _confirmation!;
            double floor = _o.Range.Floor(originalAccuracy);
            int stepBacks = 0;
            for (int i = _accepted.Count - 1; ; i--)
            {
                var candidate = _accepted[i];
                candidate.State.Restore(_model);
                double accuracy = Evaluate(held);
                if (AccuracyRange.Holds(accuracy, floor) || i == 0)
                {
                    _lastGood = candidate.State;
                    _lastGoodAccuracy = candidate.Accuracy;
                    candidate.Shares.CopyTo(_layerShare, 0);
                    candidate.Thresholds.CopyTo(_layerThreshold, 0);
                    Report(PruningPhase.Check, stepBacks == 0
                        ? $"Confirmed on {held.Count} held-out images: {AccuracyRange.Percent(accuracy)}, floor {AccuracyRange.Percent(floor)}"
                        : $"Confirmation stepped back {stepBacks} network{(stepBacks == 1 ? "" : "s")} to round {candidate.Round}'s: {AccuracyRange.Percent(accuracy)} on {held.Count} held-out images, floor {AccuracyRange.Percent(floor)}",
                        accuracy, _model.Connections().Kept);
                    return new ConfirmationReport(held.Count, originalAccuracy, floor, accuracy, stepBacks, candidate.Round);
                }
                stepBacks++;
            }
        }

        /// <summary>What a round pruned before re-learning.</summary>
        private sealed record Attempt(IReadOnlyList<ScoreRanking> Rankings, int[] Keeps, double[]? Shares, double Accuracy, int Shrinks, double Interpolation);

        /// <summary>
        /// Prunes the last network inside the range so that the combined network, before re-learning, loses at most
        /// <paramref name="step"/> and leaves the model so. The allocation's per-layer targets come from drops
        /// measured one layer at a time, which do not add exactly (on easy data every layer alone may lose nothing
        /// at 99.5% yet all together collapse), so the combined network is measured and, when it costs more than
        /// the step, each layer is moved a common fraction t of the way from where it stands to its target, t the
        /// largest (by bisection) whose combined drop is within the step. Null when there is nothing to prune.
        /// </summary>
        private Attempt? PruneWithin(double step)
        {
            var scores = _criterion.Score(_model, _weights, _validation, _ct);
            var rankings = _weights.Select((w, l) => ScoreRanking.Build(scores[l], w.Weight.Mask is null ? default : w.Weight.Mask.ReadOnlySpan)).ToArray();
            double target = _lastGoodAccuracy - step;
            if (!BudgetAllocators.IsBudgetMethod(_o.Allocation))
            {
                var baseline = BaselinePlan(rankings, target);
                if (!baseline.Where((k, l) => k < rankings[l].Kept).Any()) return null;
                Apply(rankings, baseline);
                return new Attempt(rankings, baseline, null, Evaluate(_validation), 0, 1);
            }

            Report(PruningPhase.Allocate, $"Round {_round}: sharing a step budget of {AccuracyRange.Format(step * 100)} points among {_weights.Count} layers");
            var (goal, shares) = BudgetPlan(rankings, step);
            if (!goal.Where((k, l) => k < rankings[l].Kept).Any()) return null;
            int[] KeepsAt(double t)
            {
                var keeps = new int[goal.Length];
                for (int l = 0; l < goal.Length; l++)
                    keeps[l] = rankings[l].Kept - (int)Math.Round(t * (rankings[l].Kept - goal[l]), MidpointRounding.AwayFromZero);
                return keeps;
            }
            var measured = new Dictionary<string, double>();
            double AccuracyAt(double t)
            {
                var keeps = KeepsAt(t);
                string key = string.Join(",", keeps);
                if (measured.TryGetValue(key, out double known)) return known;
                Apply(rankings, keeps);
                return measured[key] = Evaluate(_validation);
            }
            int failures = 0;
            double best = BaselineSearch.LargestFeasible(t =>
            {
                bool ok = AccuracyRange.Holds(AccuracyAt(t), target);
                if (!ok) failures++;
                return ok;
            }, 0, 1, _o.MaxShrinks);
            if (best <= 0 || !KeepsAt(best).Where((k, l) => k < rankings[l].Kept).Any())
            {
                // Even the smallest step tried costs more than the step budget: take the smallest step that
                // prunes anything and let re-learning and the check decide (a step back halves the budget).
                best = Math.Pow(0.5, _o.MaxShrinks);
                while (best < 1 && !KeepsAt(best).Where((k, l) => k < rankings[l].Kept).Any()) best = Math.Min(1, best * 2);
            }
            var chosen = KeepsAt(best);
            if (!chosen.Where((k, l) => k < rankings[l].Kept).Any()) return null;
            double accuracy = AccuracyAt(best);
            Apply(rankings, chosen);
            return new Attempt(rankings, chosen, shares, accuracy, failures, best);
        }

        /// <summary>Sensitivity curves measured on the last network inside the range, then shared out at <paramref name="step"/>: each layer's target kept count and share.</summary>
        private (int[] Keeps, double[] Shares) BudgetPlan(ScoreRanking[] rankings, double step)
        {
            var grid = _o.EffectiveSparsityGrid;
            var probe = SensitivitySet();
            double probeAccuracy = ReferenceEquals(probe, _validation) ? _lastGoodAccuracy : Evaluate(probe);
            // Resolve the curves about as finely as the smallest share a layer may get, but no finer than one
            // validation sample (below that the differences are noise).
            double refineAbove = Math.Max(1.0 / probe.Count, Math.Min(0.005, step / (2.0 * _weights.Count)));
            int total = rankings.Sum(r => Sensitivity.GridEvaluations(r, grid));
            int done = 0;
            var curves = new SensitivityCurve[_weights.Count];
            for (int l = 0; l < _weights.Count; l++)
            {
                var w = _weights[l];
                int before = done;
                // The sweep changes this layer alone, so what enters it is computed once (the same accuracies, faster).
                var suffix = new SuffixEvaluation(_model, w.Layer, probe, _o.EvaluationBatchSize, _ct);
                curves[l] = Sensitivity.Measure(w.Weight, rankings[l], probeAccuracy, () => suffix.Accuracy(_ct), grid,
                    _o.RefinePasses, refineAbove, step,
                    i =>
                    {
                        done = before + i;
                        _progress?.Report(new PruningProgress(PruningPhase.Sensitivity, _round, w.Name, done, Math.Max(total, done),
                            $"Round {_round}: sensitivity of {w.Name}"));
                    }, _ct);
            }
            if (_round == 1)
                _sensitivity = curves.ToDictionary(c => c.Layer, c => c.Points);
            var allocation = BudgetAllocators.Create(_o.Allocation).Allocate(curves, step);
            return (allocation.Select(a => (int)a.Kept).ToArray(), allocation.Select(a => a.Share).ToArray());
        }

        private Dataset? _sensitivitySet;

        /// <summary>The images sensitivity curves are measured on: the whole validation split, or its first <see cref="PruningOptions.SensitivityImages"/>.</summary>
        private Dataset SensitivitySet() => _sensitivitySet ??=
            _o.SensitivityImages is int n && n < _validation.Count ? _validation.Take(n) : _validation;

        /// <summary>The baselines: the largest global threshold or common sparsity whose combined network, before re-learning, stays at or above <paramref name="target"/>.</summary>
        private int[] BaselinePlan(ScoreRanking[] rankings, double target)
        {
            double most = _o.EffectiveSparsityGrid.Max();
            long connections = rankings.Sum(r => (long)r.Count);
            var global = _o.Allocation == AllocationKind.Global ? new BaselineSearch.GlobalOrder(rankings) : null;
            int[] KeepsAt(double sparsity)
            {
                if (global is null) return BaselineSearch.UniformKeepCounts(rankings, sparsity);
                long keep = (long)Math.Round((1 - sparsity) * connections, MidpointRounding.AwayFromZero);
                return global.KeepCounts(Math.Clamp(keep, 0, global.Kept));
            }
            double low = global is null
                ? rankings.Min(r => 1 - (double)r.Kept / Math.Max(1, r.Count))
                : 1 - (double)global.Kept / Math.Max(1, connections);
            var seen = new Dictionary<string, bool>();
            double best = BaselineSearch.LargestFeasible(s =>
            {
                var keeps = KeepsAt(s);
                string key = string.Join(",", keeps);
                if (seen.TryGetValue(key, out bool known)) return known;
                Apply(rankings, keeps);
                bool ok = AccuracyRange.Holds(Evaluate(_validation), target);
                _progress?.Report(new PruningProgress(PruningPhase.Allocate, _round, null, seen.Count + 1, 0,
                    $"Round {_round}: {_o.Allocation} search at {AccuracyRange.Percent(s)} sparsity"));
                return seen[key] = ok;
            }, low, Math.Max(low, most));
            return KeepsAt(best);
        }

        /// <summary>The last network inside the range, with each layer keeping its best <paramref name="keeps"/> entries.</summary>
        private void Apply(IReadOnlyList<ScoreRanking> rankings, int[] keeps)
        {
            _lastGood.Restore(_model);
            for (int l = 0; l < _weights.Count; l++)
            {
                if (keeps[l] >= rankings[l].Kept) continue;
                var w = _weights[l].Weight;
                w.SetMask(new Tensor(rankings[l].MaskKeeping(keeps[l]), w.Value.Shape.ToArray()));
            }
        }

        private IProgress<TrainingProgress>? RelearnProgress()
        {
            if (_progress is null) return null;
            int round = _round;
            return new Relay<TrainingProgress>(p => _progress.Report(new PruningProgress(PruningPhase.Relearn, round, null, p.Batch + (p.Epoch - 1) * p.BatchesPerEpoch,
                p.Epochs * p.BatchesPerEpoch, $"{(round == 0 ? "Warm-up" : $"Round {round}")}: re-learning, epoch {p.Epoch} of {p.Epochs}", p)));
        }

        private double Evaluate(Dataset data) => Evaluator.Evaluate(_model, data, _o.EvaluationBatchSize, _ct).Accuracy;

        /// <summary>The model's validation accuracy and, with a confidence, the upper bound of its paired drop against the original.</summary>
        private readonly record struct Verdict(double Accuracy, double? DropBound);

        private Verdict Judge()
        {
            if (!_o.BoundsDrop) return new Verdict(Evaluate(_validation), null);
            double accuracy = Evaluator.Evaluate(_model, _validation, _o.EvaluationBatchSize, _ct, _candidateCorrect).Accuracy;
            return new Verdict(accuracy, NonInferiority.DropUpperBound(_originalCorrect, _candidateCorrect, _z));
        }

        /// <summary>At or above the floor on validation, and with a confidence, its drop's upper bound within the largest drop.</summary>
        private bool Inside(Verdict v) =>
            AccuracyRange.Holds(v.Accuracy, _floor) && !(v.DropBound > _dropLimit + AccuracyRange.Tolerance);

        private string Outside(Verdict v) => !AccuracyRange.Holds(v.Accuracy, _floor)
            ? $"validation accuracy {AccuracyRange.Percent(v.Accuracy)} is below the floor {AccuracyRange.Percent(_floor)}"
            : $"its drop could be as large as {AccuracyRange.Format(v.DropBound!.Value * 100)} points at {AccuracyRange.Format(_o.Confidence * 100)}% confidence, more than {AccuracyRange.Format(_dropLimit * 100)}";

        private void Report(PruningPhase phase, string message, double? accuracy = null, long? kept = null) =>
            _progress?.Report(new PruningProgress(phase, _round, null, 0, 0, message, null, accuracy, kept));
    }

    /// <summary>
    /// Whether a round keeps its network as pruned instead of as re-learned: only when that one is inside the range,
    /// and then when the re-learned one is outside or less accurate. With a confidence bound the re-learned network
    /// can be the more accurate and still outside: re-learning moves its predictions on images the original got
    /// right or wrong, and those disagreements widen the bound even when they cancel in accuracy. Such a round used
    /// to step back although the network as pruned was inside; keeping it instead never loses a step. (On CNN-3's
    /// iso-accuracy seeds 2 and 3 the case did not arise: both ended where they had, 12.83% and 12.96% kept.)
    /// </summary>
    internal static bool PrefersAsPruned(bool asPrunedInside, double asPrunedAccuracy, bool relearnedInside, double relearnedAccuracy) =>
        asPrunedInside && (!relearnedInside || asPrunedAccuracy > relearnedAccuracy);

    internal static void CheckData(Sequential model, Dataset data, string what)
    {
        if (!data.SampleShape.AsSpan().SequenceEqual(model.InputShape))
            throw new ArgumentException($"The {what} set '{data.Name}' has samples [{string.Join(", ", data.SampleShape)}] but model '{model.Name}' takes [{string.Join(", ", model.InputShape)}].");
        if (data.ClassCount > model.ClassCount)
            throw new ArgumentException($"The {what} set '{data.Name}' has {data.ClassCount} classes but model '{model.Name}' predicts {model.ClassCount}.");
        if (data.Count == 0) throw new ArgumentException($"The {what} set '{data.Name}' is empty.");
    }
}
