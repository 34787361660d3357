using System.Diagnostics;
using Shears.Data;
using Shears.Nn;
using Shears.Tensors;
using Shears.Training;

namespace Shears.Pruning;

/// <summary>
/// The baselines at equal connections kept: the original network pruned in one step to exactly the kept count of
/// a result, by one global threshold and by one common sparsity, then re-learned for the same epochs, so a table
/// can set them beside the budget pruner's result.
/// </summary>
public static class BaselineComparison
{
    /// <summary>The baselines compared by default.</summary>
    public static IReadOnlyList<AllocationKind> Baselines { get; } = [AllocationKind.Global, AllocationKind.UniformSparsity];

    /// <summary>
    /// Compares from <paramref name="dense"/> as it stands (the original network): it is snapshotted first and
    /// restored afterwards, whatever happens.
    /// </summary>
    public static IReadOnlyList<BaselineResult> CompareAtEqualKept(Sequential dense, long keptTarget, Dataset train, Dataset validation, Dataset? test,
        int relearnEpochs, PruningOptions? options = null, IProgress<PruningProgress>? progress = null, CancellationToken ct = default) =>
        CompareAtEqualKept(dense, dense.Snapshot(), keptTarget, train, validation, test, relearnEpochs, options, progress, ct);

    /// <summary>
    /// Restores <paramref name="original"/> into <paramref name="model"/> before each baseline, prunes it to exactly
    /// <paramref name="keptTarget"/> connections, re-learns for <paramref name="relearnEpochs"/> epochs (with
    /// <paramref name="options"/>' re-learning settings and criterion) and measures it. The model's own state is
    /// restored at the end.
    /// </summary>
    public static IReadOnlyList<BaselineResult> CompareAtEqualKept(Sequential model, ModelState original, long keptTarget, Dataset train, Dataset validation, Dataset? test,
        int relearnEpochs, PruningOptions? options = null, IProgress<PruningProgress>? progress = null, CancellationToken ct = default,
        IReadOnlyList<AllocationKind>? baselines = null) =>
        Compare(model, original, keptTarget, train, validation, test, relearnEpochs, options, progress, ct, baselines, new TrainerRelearner());

    internal static IReadOnlyList<BaselineResult> Compare(Sequential model, ModelState original, long keptTarget, Dataset train, Dataset validation, Dataset? test,
        int relearnEpochs, PruningOptions? options, IProgress<PruningProgress>? progress, CancellationToken ct,
        IReadOnlyList<AllocationKind>? baselines, IRelearner relearner)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        if (relearnEpochs < 0) throw new ArgumentOutOfRangeException(nameof(relearnEpochs), relearnEpochs, "Re-learning epochs must be zero or more.");
        var o = options ?? new PruningOptions(AccuracyRange.WithinDrop(100));
        o.Validate();
        baselines ??= Baselines;
        foreach (var kind in baselines)
            if (kind is not (AllocationKind.Global or AllocationKind.UniformSparsity))
                throw new ArgumentException($"{kind} is not a baseline; compare against Global or UniformSparsity.", nameof(baselines));
        BudgetPruner.CheckData(model, train, "training");
        BudgetPruner.CheckData(model, validation, "validation");
        if (test is not null) BudgetPruner.CheckData(model, test, "test");

        var weights = PrunableWeight.Of(model);
        var criterion = Criteria.Create(o.Criterion, o.EvaluationBatchSize);
        var entry = model.Snapshot();
        try
        {
            original.Restore(model);
            var teacher = relearnEpochs > 0 ? o.TeacherFor(model, train, ct) : null;
            // Every baseline starts from the original, so its connections are scored once.
            var scores = criterion.Score(model, weights, validation, ct);
            var rankings = weights.Select((w, l) => ScoreRanking.Build(scores[l], w.Weight.Mask is null ? default : w.Weight.Mask.ReadOnlySpan)).ToArray();
            long available = rankings.Sum(r => (long)r.Kept);
            if (keptTarget < 0 || keptTarget > available)
                throw new ArgumentOutOfRangeException(nameof(keptTarget), keptTarget, $"The original network has {available} connections; the target must be in 0..{available}.");
            var keeps = baselines.Select(kind => kind == AllocationKind.Global
                ? new BaselineSearch.GlobalOrder(rankings).KeepCounts(keptTarget)
                : BaselineSearch.UniformKeepCounts(rankings, keptTarget)).ToArray();
            // Baselines that choose the same connections (always, with one prunable layer) would re-learn the same network
            // with the same shuffles: the first one's result stands for the others.
            var firstAlike = keeps.Select(k => Array.FindIndex(keeps, other => other.AsSpan().SequenceEqual(k))).ToArray();
            var distinct = Enumerable.Range(0, baselines.Count).Where(b => firstAlike[b] == b).ToArray();

            // The distinct ones re-learn side by side, each on its own copy of the model, when there are cores for them.
            var models = KernelThreads.Cores > 1 ? model.TryCopies(distinct.Length) : null;
            bool sideBySide = models is not null;
            var gate = new object();
            var shared = progress is null || !sideBySide ? progress : new Relay<PruningProgress>(p => { lock (gate) progress.Report(p); });
            BaselineResult Run(int d)
            {
                int b = distinct[d];
                var kind = baselines[b];
                var target = models?[d] ?? model;
                var targetWeights = PrunableWeight.Of(target);
                var clock = Stopwatch.StartNew();
                original.Restore(target);
                for (int l = 0; l < targetWeights.Count; l++)
                    if (keeps[b][l] < rankings[l].Kept)
                        targetWeights[l].Weight.SetMask(new Tensor(rankings[l].MaskKeeping(keeps[b][l]), targetWeights[l].Weight.Value.Shape.ToArray()));
                shared?.Report(new PruningProgress(PruningPhase.Measure, b + 1, null, b + 1, baselines.Count, $"{kind}: pruned to {keptTarget} connections"));
                var before = Measure(target, validation, test, o, ct);
                var relearnProgress = shared is null ? null : new Relay<TrainingProgress>(p => shared.Report(new PruningProgress(PruningPhase.Relearn, b + 1, null,
                    p.Batch + (p.Epoch - 1) * p.BatchesPerEpoch, p.Epochs * p.BatchesPerEpoch, $"{kind}: re-learning, epoch {p.Epoch} of {p.Epochs}", p)));
                relearner.Relearn(target, train, o.RelearnTraining(1, relearnEpochs, teacher), relearnProgress, ct);
                var after = Measure(target, validation, test, o, ct);
                var layers = targetWeights.Select((w, l) => new LayerReport(w.Name, w.Weight.Count, w.Weight.KeptCount, null, rankings[l].ThresholdFor(keeps[b][l]))).ToArray();
                var (total, kept) = target.Connections();
                return new BaselineResult(kind, o.Criterion, total, kept, relearnEpochs, before, after, layers, clock.Elapsed.TotalSeconds);
            }
            var jobs = distinct.Select((_, d) => (Func<BaselineResult>)(() => Run(d))).ToArray();
            var ran = sideBySide ? KernelThreads.RunSideBySide(jobs) : jobs.Select(job => job()).ToArray();
            var results = new List<BaselineResult>();
            for (int b = 0; b < baselines.Count; b++)
            {
                if (firstAlike[b] == b)
                {
                    results.Add(ran[Array.IndexOf(distinct, b)]);
                    continue;
                }
                var twin = results[firstAlike[b]];
                progress?.Report(new PruningProgress(PruningPhase.Measure, b + 1, null, b + 1, baselines.Count,
                    $"{baselines[b]}: the same connections as {twin.Allocation}; its result stands"));
                results.Add(twin with { Allocation = baselines[b], Seconds = 0 });
            }
            progress?.Report(new PruningProgress(PruningPhase.Done, 0, null, baselines.Count, baselines.Count, "Baselines compared"));
            return results;
        }
        finally
        {
            entry.Restore(model);
        }
    }

    private static AccuracyPair Measure(Sequential model, Dataset validation, Dataset? test, PruningOptions o, CancellationToken ct) =>
        new(Evaluator.Evaluate(model, validation, o.EvaluationBatchSize, ct).Accuracy,
            test is null ? null : Evaluator.Evaluate(model, test, o.EvaluationBatchSize, ct).Accuracy);
}
