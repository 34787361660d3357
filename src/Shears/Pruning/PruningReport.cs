using System.Text.Json.Serialization;

namespace Shears.Pruning;

/// <summary>Validation and test accuracy of one network; the test accuracy is null when no test set was given.</summary>
public sealed record AccuracyPair(double ValidationAccuracy, double? TestAccuracy);

/// <summary>The range as given and the floor it came to for this network.</summary>
/// <param name="MinAccuracy">The validation floor of the range (the stricter of the minimum accuracy and the original minus the largest drop), without the safety margin.</param>
/// <param name="MaxDrop">The largest drop as given, in percentage points.</param>
/// <param name="RequestedMinAccuracy">The minimum accuracy as given.</param>
/// <param name="ErrorBudget">Original validation accuracy minus the floor the pruner kept (the floor plus any safety margin): what pruning may spend.</param>
/// <param name="TestFloor">
/// The range applied to the test split (reported only): the absolute floor, the original's test accuracy minus
/// the largest drop, or the stricter of the two; null without a test set.
/// </param>
/// <param name="SafetyMargin">What the pruner kept above <paramref name="MinAccuracy"/> on validation (accuracy units; 0 for none).</param>
/// <param name="Confidence">The one-sided confidence at which the drop's upper bound was held within <paramref name="MaxDrop"/> (<see cref="PruningOptions.Confidence"/>); null when the measured drop decided.</param>
public sealed record RangeReport(double MinAccuracy, double? MaxDrop, double? RequestedMinAccuracy, double ErrorBudget, string Description,
    double? TestFloor = null, double SafetyMargin = 0, double? Confidence = null);

/// <summary>
/// The check of the search's result on validation images it never saw (<see cref="PruningOptions.ConfirmationImages"/>).
/// </summary>
/// <param name="Images">How many images were held out of the search.</param>
/// <param name="OriginalAccuracy">The original network's accuracy on them.</param>
/// <param name="Floor">The range's floor on them: the absolute floor, the original's accuracy on them minus the largest drop, or the stricter.</param>
/// <param name="PrunedAccuracy">The final network's accuracy on them.</param>
/// <param name="StepBacks">How many of the search's accepted networks, newest first, fell below <paramref name="Floor"/> and were passed over.</param>
/// <param name="Round">The round whose network was kept (0: the original).</param>
public sealed record ConfirmationReport(int Images, double OriginalAccuracy, double Floor, double PrunedAccuracy, int StepBacks, int Round)
{
    /// <summary>Final accuracy on the held-out images minus their floor (negative only when even the original is below an absolute floor there).</summary>
    public double Margin => PrunedAccuracy - Floor;
}

/// <summary>The re-learning of the original before the first round (<see cref="PruningOptions.WarmupEpochs"/>).</summary>
/// <param name="ValidationAccuracy">The warmed-up network's validation accuracy.</param>
/// <param name="Kept">Whether the rounds started from it (its accuracy did not fall and it was inside the range) rather than from the original.</param>
public sealed record WarmupReport(int Epochs, double ValidationAccuracy, bool Kept);

/// <summary>One prunable weight's outcome.</summary>
/// <param name="Name">The parameter's name, e.g. "fc1.weight".</param>
/// <param name="Budget">The share of the error budget this layer was given in the last round that changed it (accuracy units); null for the baselines, which share no budget.</param>
/// <param name="Threshold">Score at or below which its connections were pruned in that round (for magnitude, the weight magnitude); 0 when never pruned.</param>
public sealed record LayerReport(string Name, long Connections, long Kept, double? Budget, double Threshold)
{
    public double Sparsity => Connections == 0 ? 0 : 1 - (double)Kept / Connections;
}

[JsonConverter(typeof(JsonStringEnumConverter<RoundOutcome>))]
public enum RoundOutcome
{
    /// <summary>Ended inside the range: the round's network became the one to continue from.</summary>
    Accepted,
    /// <summary>Ended outside the range, but the rescue re-learning (<see cref="PruningOptions.RescueEpochs"/>) brought it back inside: accepted.</summary>
    Rescued,
    /// <summary>Ended outside the range: the last network inside it was restored and the shares halved.</summary>
    SteppedBack,
    /// <summary>
    /// Re-learning lost validation accuracy that the network had just after pruning, and that network was inside
    /// the range: it was accepted as pruned, without the re-learning (late rounds prune so little that the noise of
    /// ten more epochs outweighs what they win back).
    /// </summary>
    AcceptedAsPruned,
    /// <summary>The allocation found nothing more to prune; the run stops.</summary>
    NoGain,
}

/// <summary>One round of prune, re-learn, check.</summary>
/// <param name="BudgetAvailable">Validation accuracy at the round's start minus the floor.</param>
/// <param name="BudgetGiven">The step budget: what the round's pruning might cost before re-learning (max(available, the option's step budget), halved after each step back).</param>
/// <param name="BudgetUsed">The measured drop of the combined network before re-learning (start accuracy minus <paramref name="ValidationBeforeRelearn"/>).</param>
/// <param name="Shrinks">How many bisection tries on the combined network cost more than the step budget.</param>
/// <param name="RescueEpochs">Epochs of rescue re-learning the round spent after ending outside the range (0: none).</param>
/// <param name="ValidationBeforeRescue">With a rescue, the validation accuracy the round's re-learning ended at, outside the range (what the rescue started from).</param>
/// <param name="RescueSeconds">With a rescue, its seconds (re-learning and check), part of <paramref name="Seconds"/>.</param>
/// <param name="Interpolation">The fraction of the way each layer moved from where it stood to its allocated sparsity (1: all of it).</param>
public sealed record RoundReport(
    int Round,
    long KeptBefore,
    long Kept,
    double ValidationAtStart,
    double ValidationBeforeRelearn,
    double ValidationAfterRelearn,
    RoundOutcome Outcome,
    double BudgetAvailable,
    double BudgetGiven,
    double BudgetUsed,
    int Shrinks,
    double Seconds,
    double Interpolation = 1,
    int RescueEpochs = 0,
    double? ValidationBeforeRescue = null,
    double? RescueSeconds = null)
{
    public bool Accepted => Outcome is RoundOutcome.Accepted or RoundOutcome.Rescued or RoundOutcome.AcceptedAsPruned;
    /// <summary>The step budget (<see cref="BudgetGiven"/>).</summary>
    public double StepBudget => BudgetGiven;
}

/// <summary>A point of a sensitivity curve: the layer alone pruned to <paramref name="Sparsity"/> of its connections.</summary>
public sealed record SensitivityPoint(double Sparsity, long Kept, double Accuracy);

/// <summary>
/// What a pruning run did, as plain data (System.Text.Json with camelCase names gives the fields the CLI and
/// reports read). Accuracies are fractions; budgets and margins are in accuracy units (0.002 = 0.2 points).
/// </summary>
public sealed record PruningReport
{
    public required string Model { get; init; }
    public required long ConnectionsTotal { get; init; }
    public required long ConnectionsKept { get; init; }
    public double KeptFraction => ConnectionsTotal == 0 ? 1 : (double)ConnectionsKept / ConnectionsTotal;
    /// <summary>Total over kept connections (over one when nothing is kept).</summary>
    public double Compression => (double)ConnectionsTotal / Math.Max(1, ConnectionsKept);
    public required RangeReport Range { get; init; }
    public required AccuracyPair Original { get; init; }
    /// <summary>The first round's pruned network before re-learning (equal to <see cref="Original"/> when nothing was pruned).</summary>
    public required AccuracyPair AfterPruning { get; init; }
    /// <summary>The final network.</summary>
    public required AccuracyPair Pruned { get; init; }
    /// <summary>
    /// With a confidence (<see cref="RangeReport.Confidence"/>): the upper bound of the final network's drop against
    /// the original, paired on the validation images (accuracy units; at most the largest drop). Null without one.
    /// </summary>
    public double? DropUpperBound { get; init; }
    /// <summary>
    /// With held-out images (<see cref="PruningOptions.ConfirmationImages"/>): where the final network stands on
    /// them. <see cref="Pruned"/>'s validation accuracy is then on the search's images only. Null without.
    /// </summary>
    public ConfirmationReport? Confirmation { get; init; }
    /// <summary>The warm-up re-learning, when one ran (null without).</summary>
    public WarmupReport? Warmup { get; init; }
    /// <summary>Final validation accuracy minus the floor; never negative.</summary>
    public double MarginValidation => Pruned.ValidationAccuracy - Range.MinAccuracy;
    /// <summary>Final test accuracy minus the test floor (<see cref="RangeReport.TestFloor"/>; reported only: the test set decides nothing).</summary>
    public double? MarginTest => Pruned.TestAccuracy - (Range.TestFloor ?? Range.MinAccuracy);
    public required double Seconds { get; init; }
    public required AllocationKind Allocation { get; init; }
    public required CriterionKind Criterion { get; init; }
    /// <summary>
    /// With <see cref="PruningOptions.AlsoTry"/>: every criterion's path, in the order they ran, and which was kept
    /// (this report's); <see cref="Seconds"/> covers them all. Empty when one criterion ran.
    /// </summary>
    public IReadOnlyList<PathReport> Paths { get; init; } = [];
    public required int RelearnEpochs { get; init; }
    /// <summary>Re-learning epochs spent in all rounds, rescues included (what a fair baseline may re-learn for).</summary>
    public int RelearnEpochsTotal => Rounds.Where(r => r.Outcome != RoundOutcome.NoGain).Sum(r => RelearnEpochs + r.RescueEpochs);
    /// <summary>α of distillation from the original during re-learning (0: labels only) and its temperature.</summary>
    public double DistillWeight { get; init; }
    public double DistillTemperature { get; init; }
    /// <summary>The largest random shift, in pixels, of the images re-learning saw (0: as they are).</summary>
    public int RelearnShift { get; init; }
    /// <summary>The decoupled weight decay re-learning used (0: none).</summary>
    public double RelearnWeightDecay { get; init; }
    public required int StepBacks { get; init; }
    public required IReadOnlyList<LayerReport> Layers { get; init; }
    public required IReadOnlyList<RoundReport> Rounds { get; init; }
    /// <summary>Which images were the validation split ("last:5000", "random:5000:1"), when the caller says (the pruner sees only the images).</summary>
    public string? ValidationSplit { get; init; }
    /// <summary>Round 1's sensitivity curves by parameter name (empty for the baselines, which measure none).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<SensitivityPoint>> Sensitivity { get; init; }
}

/// <summary>Where one criterion's path ended (<see cref="PruningReport.Paths"/>), and its rounds (the kept path's are also the report's).</summary>
public sealed record PathReport(CriterionKind Criterion, long ConnectionsKept, double KeptFraction, AccuracyPair Pruned, double Seconds, bool Kept,
    IReadOnlyList<RoundReport>? Rounds = null);

/// <summary>A baseline pruned to a given number of kept connections and re-learned, for tables at equal connections.</summary>
public sealed record BaselineResult(
    AllocationKind Allocation,
    CriterionKind Criterion,
    long ConnectionsTotal,
    long ConnectionsKept,
    int RelearnEpochs,
    AccuracyPair BeforeRelearn,
    AccuracyPair AfterRelearn,
    IReadOnlyList<LayerReport> Layers,
    double Seconds)
{
    public double KeptFraction => ConnectionsTotal == 0 ? 1 : (double)ConnectionsKept / ConnectionsTotal;
}
