using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Shears.Data;
using Shears.Nn;
using Shears.Training;

namespace Shears.Pruning;

/// <summary>How the error budget is shared out among layers in a round.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AllocationKind>))]
public enum AllocationKind
{
    /// <summary>The per-layer sparsities that remove the most connections while the measured drops add up to at most the budget (multiple-choice knapsack).</summary>
    Sensitivity,
    /// <summary>An equal share of the budget per layer.</summary>
    Uniform,
    /// <summary>Shares proportional to each layer's kept connections.</summary>
    Size,
    /// <summary>Baseline: one score threshold for all layers (PyTorch's global_unstructured), the largest the budget allows on the combined network.</summary>
    Global,
    /// <summary>Baseline: the same sparsity in every layer, the largest the budget allows on the combined network.</summary>
    UniformSparsity,
}

/// <summary>Which score ranks the connections of a layer.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CriterionKind>))]
public enum CriterionKind
{
    /// <summary>|w|.</summary>
    Magnitude,
    /// <summary>|w| × the root mean square of the weight's input feature (Linear) or channel (Conv2d) over the validation inputs.</summary>
    ActivationAware,
    /// <summary>w² × the weight's empirical Fisher information over the validation set (<see cref="FisherCriterion"/>).</summary>
    Fisher,
}

/// <summary>Everything that decides a pruning run. Equal options, model and data give an equal result.</summary>
public sealed record PruningOptions
{
    /// <summary>The default sensitivity grid: sparsities of a layer's connections, 0 to 99.5%.</summary>
    public static IReadOnlyList<double> DefaultSparsityGrid { get; } =
        [0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995];

    public PruningOptions() { }

    [SetsRequiredMembers]
    public PruningOptions(AccuracyRange range) => Range = range;

    /// <summary>The accuracy the result must keep on the validation split.</summary>
    public required AccuracyRange Range { get; init; }
    public AllocationKind Allocation { get; init; } = AllocationKind.Sensitivity;
    public CriterionKind Criterion { get; init; } = CriterionKind.Magnitude;
    /// <summary>
    /// Further criteria, each of whose whole searches also runs from the original: the pruner keeps the path that ends
    /// with the fewest connections (on a tie the higher validation accuracy, then the earlier criterion). Which
    /// connections a round removes decides how far later rounds get, and the best criterion differs from network to
    /// network (CNN-3 at its 0.98 floor: magnitude kept 2.30 / 3.76 / 2.96% on seeds 1-3, Fisher 2.04 / 2.09 /
    /// 3.88%). Every path is a whole run; with a core per path (and a model that can be copied) the paths run side by
    /// side, each with its kernels on its own thread, to the same results as one after the other.
    /// </summary>
    public IReadOnlyList<CriterionKind> AlsoTry { get; init; } = [];
    /// <summary>Epochs of re-learning after each round's pruning (0: none).</summary>
    public int RelearnEpochs { get; init; } = 2;
    /// <summary>At most this many rounds of prune, re-learn, check (a round that steps back counts).</summary>
    public int Rounds { get; init; } = 12;
    /// <summary>
    /// The step budget, in percentage points: the least a round's pruning may cost before re-learning. A round
    /// spends max(what is left of the error budget, this), halved after each step back; re-learning wins most of
    /// it back and the check after re-learning against the true floor decides, so the guarantee does not rest on
    /// it. 0 spends only what is left of the error budget (tiny steps for a tight range).
    /// </summary>
    public double StepBudget { get; init; } = 2.0;
    /// <summary>After an accepted round the step budget grows by this factor (at most 4× the first round's); a step back halves it. 1 (the default: growing cost FCN-2 and FCN-1 more step-backs than it gained): never grows.</summary>
    public double StepGrowth { get; init; } = 1;
    /// <summary>
    /// Epochs of a second re-learning for a round that ends just outside the range, before it is stepped back
    /// (0: step back at once). Re-learning is still recovering when it stops, so a round that misses the floor by a
    /// little often gets inside with a few more epochs; that is far cheaper than a step back, which throws the
    /// round away and halves every later step.
    /// </summary>
    public int RescueEpochs { get; init; } = 2;
    /// <summary>
    /// When re-learning leaves a round's network with less validation accuracy than it had just after pruning, and
    /// the network as pruned is inside the range, keep that one (<see cref="RoundOutcome.AcceptedAsPruned"/>).
    /// Late rounds prune a few connections at a time, and ten epochs of re-learning then move the network by more
    /// noise than they win back: FCN-2 seed 3 at iso-accuracy, with a 0.1-point margin, lost its last five rounds
    /// that way (98.16% pruned, 97.98–98.04% re-learned, floor 98.08%). False re-learns every round, as the paper does.
    /// </summary>
    public bool AcceptAsPruned { get; init; } = true;
    /// <summary>An accepted round that removes less than this fraction of the connections it started with ends the run.</summary>
    public double MinRoundGain { get; init; } = 0.01;
    /// <summary>
    /// Re-learn on training images translated at random by up to this many pixels (<see cref="RandomShift"/>; 0,
    /// the default: as they are). The pruned network then sees new images each epoch, so long re-learning does
    /// not memorise the training set, and it can end more accurate than an original trained without shifts,
    /// which is what lets a network hold a tight range on unseen images rather than only on the validation split.
    /// </summary>
    public int RelearnShift { get; init; }
    /// <summary>Epochs of a last re-learning of the accepted network, kept only if its validation accuracy does not fall (0: none).</summary>
    public int PolishEpochs { get; init; } = 0;
    /// <summary>
    /// Epochs of re-learning of the original network before the first round, with the rounds' settings (shifts,
    /// distillation, masks held), kept only if its validation accuracy does not fall (0: none). The range stays
    /// measured against the original: a network that first adapts to shifted images starts the rounds from higher
    /// ground, instead of losing its first round to that adaptation.
    /// </summary>
    public int WarmupEpochs { get; init; } = 0;
    /// <summary>
    /// A safety margin, in percentage points, kept above an absolute floor (<see cref="AccuracyRange.MinAccuracy"/>)
    /// on the validation split, so the result stays above the floor on unseen data too. 0: none.
    /// </summary>
    public double SafetyMargin { get; init; }
    /// <summary>
    /// A safety margin derived from the validation split alone: this many binomial standard errors of an accuracy
    /// at the floor, sqrt(f(1 − f)/n) for n validation images. The larger of this and <see cref="SafetyMargin"/> is kept.
    /// </summary>
    public double MarginStandardErrors { get; init; }
    /// <summary>
    /// A margin, in percentage points, kept inside a largest drop (<see cref="AccuracyRange.MaxDrop"/>) on the
    /// validation split: the result may lose at most the drop minus this. 0: none. It never lifts the floor above
    /// the original.
    /// </summary>
    public double DropMargin { get; init; }
    /// <summary>
    /// One-sided confidence (0.95, say) that the pruned network's true drop, not just its drop on the validation
    /// split, is within the largest drop (<see cref="AccuracyRange.MaxDrop"/>): a network is inside the range only
    /// when the upper confidence bound of its paired drop against the original (<see cref="NonInferiority"/>) is
    /// within it. 0 (the default): the measured drop decides. A run of many rounds keeps the networks that did
    /// best on the validation images, so without it the range tends to hold there and slip by about a standard
    /// error on unseen images. Only drops take it; an absolute floor has <see cref="MarginStandardErrors"/>.
    /// </summary>
    public double Confidence { get; init; }
    /// <summary>
    /// Hold the last this many validation images out of the search (0: none). The search decides on the rest; the
    /// network it ends with must then also be inside the range on the held-out images, by their measured accuracy
    /// (the range's own floor, no margin or bound), or the pruner steps back through the networks it accepted,
    /// newest first, to the first that is. The search keeps the networks that did best on its own images, so its
    /// accuracy there flatters them (CNN-3 seed 3 at iso-accuracy: drop 0.04 points on validation, 0.23 on
    /// test); images it never saw give an unbiased check.
    /// </summary>
    public int ConfirmationImages { get; init; }
    /// <summary>Seeds re-learning's shuffles (round r uses Seed + r).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Re-learning's batch size.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Re-learning's base learning rate (decayed by a cosine over each round's epochs): half training's, so the kept weights are fine-tuned, not re-trained.</summary>
    public float RelearnLearningRate { get; init; } = 5e-4f;
    public OptimizerKind RelearnOptimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>
    /// Decoupled weight decay while re-learning (AdamW; 0, the default: none). It shrinks the kept weights that the
    /// loss does not hold up, so the next round's scores see which connections the network can do without.
    /// </summary>
    public float RelearnWeightDecay { get; init; }
    /// <summary>
    /// α of re-learning by distillation from the original network (0: labels only): the share of the loss that
    /// pulls the pruned network's softened outputs towards the original's. See <see cref="Distillation"/>.
    /// </summary>
    public double DistillWeight { get; init; }
    /// <summary>The temperature T that softens both networks' outputs for distillation.</summary>
    public double DistillTemperature { get; init; } = 4;
    /// <summary>Sensitivity grid (sparsities in [0, 1)); null uses <see cref="DefaultSparsityGrid"/>.</summary>
    public IReadOnlyList<double>? SparsityGrid { get; init; }
    /// <summary>How many times a round that ends outside the range is stepped back and followed by a smaller step; one more such round ends the run (still stepped back).</summary>
    public int MaxStepBacks { get; init; } = 4;
    /// <summary>
    /// Measure sensitivity curves on only the first this many validation images (null: all of them). The curves
    /// only steer the allocation, and they are most of a round's evaluations, so a large network can afford more
    /// rounds this way; every check against the range still uses the whole validation split.
    /// </summary>
    public int? SensitivityImages { get; init; }
    /// <summary>Passes that insert midpoints where a sensitivity curve bends (0: the grid alone).</summary>
    public int RefinePasses { get; init; } = 3;
    /// <summary>
    /// Bisection steps on the common fraction t of the way each layer moves from where it stands to its allocated
    /// sparsity, when the combined network costs more than the step budget before re-learning.
    /// </summary>
    public int MaxShrinks { get; init; } = 6;
    /// <summary>Batch size of validation and test evaluations.</summary>
    public int EvaluationBatchSize { get; init; } = 1000;

    public IReadOnlyList<double> EffectiveSparsityGrid => SparsityGrid ?? DefaultSparsityGrid;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Range, nameof(Range));
        Range.Validate();
        if (!Enum.IsDefined(Allocation)) throw new ArgumentOutOfRangeException(nameof(Allocation), Allocation, "Unknown allocation.");
        if (!Enum.IsDefined(Criterion)) throw new ArgumentOutOfRangeException(nameof(Criterion), Criterion, "Unknown criterion.");
        foreach (var c in AlsoTry)
            if (!Enum.IsDefined(c)) throw new ArgumentOutOfRangeException(nameof(AlsoTry), c, "Unknown criterion.");
        if (AlsoTry.Prepend(Criterion).Distinct().Count() != AlsoTry.Count + 1)
            throw new ArgumentException($"Each criterion may be tried once; got {string.Join(", ", AlsoTry.Prepend(Criterion))}.", nameof(AlsoTry));
        if (RelearnEpochs < 0) throw new ArgumentOutOfRangeException(nameof(RelearnEpochs), RelearnEpochs, "Re-learning epochs must be zero or more.");
        if (Rounds < 1) throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "At least one round is needed.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
        if (!(RelearnLearningRate > 0) || float.IsInfinity(RelearnLearningRate))
            throw new ArgumentOutOfRangeException(nameof(RelearnLearningRate), RelearnLearningRate, "The re-learning rate must be a positive number.");
        if (!(RelearnWeightDecay >= 0) || float.IsInfinity(RelearnWeightDecay))
            throw new ArgumentOutOfRangeException(nameof(RelearnWeightDecay), RelearnWeightDecay, "The re-learning weight decay must be zero or a positive number.");
        if (MaxStepBacks < 0) throw new ArgumentOutOfRangeException(nameof(MaxStepBacks), MaxStepBacks, "Step-backs must be zero or more.");
        if (RefinePasses < 0) throw new ArgumentOutOfRangeException(nameof(RefinePasses), RefinePasses, "Refinement passes must be zero or more.");
        if (MaxShrinks < 0) throw new ArgumentOutOfRangeException(nameof(MaxShrinks), MaxShrinks, "Shrinks must be zero or more.");
        if (!(StepBudget >= 0 && StepBudget <= 100)) throw new ArgumentOutOfRangeException(nameof(StepBudget), StepBudget, "The step budget is in percentage points and must be in [0, 100].");
        if (!(StepGrowth >= 1 && StepGrowth <= 4)) throw new ArgumentOutOfRangeException(nameof(StepGrowth), StepGrowth, "The step growth must be in [1, 4].");
        if (!(MinRoundGain >= 0 && MinRoundGain < 1)) throw new ArgumentOutOfRangeException(nameof(MinRoundGain), MinRoundGain, "The least gain of a round must be a fraction in [0, 1).");
        if (RescueEpochs < 0) throw new ArgumentOutOfRangeException(nameof(RescueEpochs), RescueEpochs, "Rescue epochs must be zero or more.");
        if (RelearnShift < 0) throw new ArgumentOutOfRangeException(nameof(RelearnShift), RelearnShift, "The re-learning shift must be zero or more pixels.");
        if (PolishEpochs < 0) throw new ArgumentOutOfRangeException(nameof(PolishEpochs), PolishEpochs, "Polish epochs must be zero or more.");
        if (WarmupEpochs < 0) throw new ArgumentOutOfRangeException(nameof(WarmupEpochs), WarmupEpochs, "Warm-up epochs must be zero or more.");
        if (!(SafetyMargin >= 0 && SafetyMargin <= 100)) throw new ArgumentOutOfRangeException(nameof(SafetyMargin), SafetyMargin, "The safety margin is in percentage points and must be in [0, 100].");
        if (!(DropMargin >= 0 && DropMargin <= 100)) throw new ArgumentOutOfRangeException(nameof(DropMargin), DropMargin, "The drop margin is in percentage points and must be in [0, 100].");
        if (!(Confidence == 0 || (Confidence >= 0.5 && Confidence < 1)))
            throw new ArgumentOutOfRangeException(nameof(Confidence), Confidence, "The confidence is one-sided and must be in [0.5, 1), e.g. 0.95, or 0 for none.");
        if (!(MarginStandardErrors >= 0 && MarginStandardErrors <= 100)) throw new ArgumentOutOfRangeException(nameof(MarginStandardErrors), MarginStandardErrors, "Standard errors must be zero or more.");
        if (!(DistillWeight >= 0 && DistillWeight <= 1)) throw new ArgumentOutOfRangeException(nameof(DistillWeight), DistillWeight, "The distillation weight must be in [0, 1].");
        if (!(DistillTemperature >= 1 && DistillTemperature <= 100)) throw new ArgumentOutOfRangeException(nameof(DistillTemperature), DistillTemperature, "The distillation temperature must be in [1, 100].");
        if (ConfirmationImages < 0) throw new ArgumentOutOfRangeException(nameof(ConfirmationImages), ConfirmationImages, "Confirmation images must be zero or more.");
        if (SensitivityImages is <= 0) throw new ArgumentOutOfRangeException(nameof(SensitivityImages), SensitivityImages, "Sensitivity images must be positive (or null for all).");
        if (EvaluationBatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "The evaluation batch size must be positive.");
        var grid = EffectiveSparsityGrid;
        if (grid.Count == 0) throw new ArgumentException("The sparsity grid is empty.", nameof(SparsityGrid));
        foreach (double s in grid)
            if (!(s >= 0 && s < 1))
                throw new ArgumentOutOfRangeException(nameof(SparsityGrid), s, "Grid sparsities must be in [0, 1): a layer cannot lose every connection.");
    }

    /// <summary>
    /// What a round's pruning may cost before re-learning when <paramref name="available"/> is left of the error
    /// budget: no more than that without re-learning, which is what wins the rest back.
    /// </summary>
    public double StepBudgetFor(double available) => RelearnEpochs == 0 ? available : Math.Max(available, StepBudget / 100.0);

    /// <summary>
    /// The safety margin (accuracy units) kept above an absolute floor, for an original of
    /// <paramref name="originalValidationAccuracy"/> measured on <paramref name="validationCount"/> images; 0 when
    /// the range has no absolute floor.
    /// </summary>
    public double SafetyMarginFor(double originalValidationAccuracy, int validationCount)
    {
        if (Range.MinAccuracy is not double floor) return 0;
        double f = Math.Clamp(floor, 0, 1);
        double standardError = validationCount > 0 ? Math.Sqrt(f * (1 - f) / validationCount) : 0;
        return Math.Max(SafetyMargin / 100.0, MarginStandardErrors * standardError);
    }

    /// <summary>
    /// The floor the pruner holds on validation: the range's floor, raised by the safety margin above an absolute
    /// floor and by <see cref="DropMargin"/> inside a largest drop, but never above the original (then there is
    /// simply nothing to spend).
    /// </summary>
    public double FloorFor(double originalValidationAccuracy, int validationCount) =>
        Math.Min(originalValidationAccuracy,
            Range.Floor(originalValidationAccuracy, SafetyMarginFor(originalValidationAccuracy, validationCount), DropMargin / 100.0));

    /// <summary>
    /// The validation images the search decides on and, with <see cref="ConfirmationImages"/>, the last that many,
    /// held out to confirm its result (null without). Throws when nothing would be left for the search.
    /// </summary>
    public (Dataset Searched, Dataset? HeldOut) SplitValidation(Dataset validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        if (ConfirmationImages == 0) return (validation, null);
        if (ConfirmationImages >= validation.Count)
            throw new ArgumentException($"Holding {ConfirmationImages} images out for confirmation leaves none of the {validation.Count} validation images of '{validation.Name}' for the search.", nameof(validation));
        return validation.SplitLast(ConfirmationImages);
    }

    /// <summary>Whether the drop is held at a confidence bound (<see cref="Confidence"/> set and the range has a largest drop).</summary>
    public bool BoundsDrop => Confidence > 0 && Range.MaxDrop is not null;

    /// <summary>Whether re-learning distils from the original network.</summary>
    public bool Distils => DistillWeight > 0;

    /// <summary>The original network's softened outputs over <paramref name="train"/>, when re-learning distils (else null).</summary>
    public Distillation? TeacherFor(Sequential original, Dataset train, CancellationToken ct = default) =>
        Distils ? Distillation.FromTeacher(original, train, (float)DistillTemperature, (float)DistillWeight, EvaluationBatchSize, ct) : null;

    /// <summary>
    /// The re-learning run of round <paramref name="round"/>: masks held by the optimizer, a low rate decayed by a
    /// cosine, and distillation from <paramref name="teacher"/> when given.
    /// </summary>
    public TrainingOptions RelearnTraining(int round, int epochs, Distillation? teacher = null) => new()
    {
        Distillation = teacher,
        Epochs = epochs,
        BatchSize = BatchSize,
        Optimizer = RelearnOptimizer,
        LearningRate = RelearnLearningRate,
        WeightDecay = RelearnWeightDecay,
        Schedule = ScheduleKind.Cosine,
        MaxShift = RelearnShift,
        Seed = unchecked(Seed + round),
    };
}
