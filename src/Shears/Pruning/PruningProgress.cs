using System.Text.Json.Serialization;
using Shears.Training;

namespace Shears.Pruning;

[JsonConverter(typeof(JsonStringEnumConverter<PruningPhase>))]
public enum PruningPhase { Measure, Sensitivity, Allocate, Relearn, Check, StepBack, Done }

/// <summary>
/// Raised as the pruner works; the CLI turns it into progress bars. <see cref="Step"/> of <see cref="Total"/>
/// counts the phase's units (evaluations while measuring sensitivity, epochs' batches come in
/// <see cref="Training"/> while re-learning). <see cref="Round"/> is 0 before the first round.
/// </summary>
public sealed record PruningProgress(
    PruningPhase Phase,
    int Round,
    string? Layer,
    int Step,
    int Total,
    string Message,
    TrainingProgress? Training = null,
    double? ValidationAccuracy = null,
    long? ConnectionsKept = null);
