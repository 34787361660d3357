using Shears.Data;
using Shears.Nn;
using Shears.Training;

namespace Shears.Pruning;

/// <summary>Re-learning after a round's pruning: the seam tests use to force a round outside the range.</summary>
internal interface IRelearner
{
    void Relearn(Sequential model, Dataset train, TrainingOptions options, IProgress<TrainingProgress>? progress, CancellationToken ct);
}

/// <summary>
/// Re-learns with <see cref="Trainer"/>: its optimizer zeroes pruned entries' gradients before each step and
/// re-masks the values after it, so pruned weights stay exactly zero; their optimizer state is cleared first.
/// </summary>
internal sealed class TrainerRelearner : IRelearner
{
    public void Relearn(Sequential model, Dataset train, TrainingOptions options, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        if (options.Epochs == 0) return;
        var trainer = new Trainer(model, options);
        trainer.Optimizer.ApplyMasks();
        trainer.Train(train, validation: null, progress, ct);
    }
}
