using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
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
    /// <summary>|w| × mean |input activation| of the weight's input feature (Linear) or channel (Conv2d) over the validation inputs.</summary>
    ActivationAware,
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
    /// <summary>Epochs of re-learning after each round's pruning (0: none).</summary>
    public int RelearnEpochs { get; init; } = 2;
    /// <summary>At most this many rounds of prune, re-learn, check (a round that steps back counts).</summary>
    public int Rounds { get; init; } = 6;
    /// <summary>Seeds re-learning's shuffles (round r uses Seed + r).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Re-learning's batch size.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Re-learning's base learning rate: lower than training's, so the kept weights are fine-tuned, not re-trained.</summary>
    public float RelearnLearningRate { get; init; } = 1e-4f;
    public OptimizerKind RelearnOptimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>Sensitivity grid (sparsities in [0, 1)); null uses <see cref="DefaultSparsityGrid"/>.</summary>
    public IReadOnlyList<double>? SparsityGrid { get; init; }
    /// <summary>How many times a round that ends outside the range is stepped back and followed by a smaller step; one more such round ends the run (still stepped back).</summary>
    public int MaxStepBacks { get; init; } = 3;
    /// <summary>Passes that insert midpoints where a sensitivity curve bends (0: the grid alone).</summary>
    public int RefinePasses { get; init; } = 3;
    /// <summary>
    /// How often a round's combined network may fall below the floor before re-learning and have its budget shrunk
    /// (×0.6, or each layer one measured point back when that buys the same points) and retried; after that it
    /// re-learns as it is and the check decides.
    /// </summary>
    public int MaxShrinks { get; init; } = 3;
    /// <summary>Batch size of validation and test evaluations.</summary>
    public int EvaluationBatchSize { get; init; } = 1000;

    public IReadOnlyList<double> EffectiveSparsityGrid => SparsityGrid ?? DefaultSparsityGrid;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Range, nameof(Range));
        Range.Validate();
        if (!Enum.IsDefined(Allocation)) throw new ArgumentOutOfRangeException(nameof(Allocation), Allocation, "Unknown allocation.");
        if (!Enum.IsDefined(Criterion)) throw new ArgumentOutOfRangeException(nameof(Criterion), Criterion, "Unknown criterion.");
        if (RelearnEpochs < 0) throw new ArgumentOutOfRangeException(nameof(RelearnEpochs), RelearnEpochs, "Re-learning epochs must be zero or more.");
        if (Rounds < 1) throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "At least one round is needed.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
        if (!(RelearnLearningRate > 0) || float.IsInfinity(RelearnLearningRate))
            throw new ArgumentOutOfRangeException(nameof(RelearnLearningRate), RelearnLearningRate, "The re-learning rate must be a positive number.");
        if (MaxStepBacks < 0) throw new ArgumentOutOfRangeException(nameof(MaxStepBacks), MaxStepBacks, "Step-backs must be zero or more.");
        if (RefinePasses < 0) throw new ArgumentOutOfRangeException(nameof(RefinePasses), RefinePasses, "Refinement passes must be zero or more.");
        if (MaxShrinks < 0) throw new ArgumentOutOfRangeException(nameof(MaxShrinks), MaxShrinks, "Shrinks must be zero or more.");
        if (EvaluationBatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "The evaluation batch size must be positive.");
        var grid = EffectiveSparsityGrid;
        if (grid.Count == 0) throw new ArgumentException("The sparsity grid is empty.", nameof(SparsityGrid));
        foreach (double s in grid)
            if (!(s >= 0 && s < 1))
                throw new ArgumentOutOfRangeException(nameof(SparsityGrid), s, "Grid sparsities must be in [0, 1): a layer cannot lose every connection.");
    }

    /// <summary>The re-learning run of round <paramref name="round"/>: masks held by the optimizer, a constant low rate.</summary>
    public TrainingOptions RelearnTraining(int round, int epochs) => new()
    {
        Epochs = epochs,
        BatchSize = BatchSize,
        Optimizer = RelearnOptimizer,
        LearningRate = RelearnLearningRate,
        Schedule = ScheduleKind.Cosine,
        Seed = unchecked(Seed + round),
    };
}
