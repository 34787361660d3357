namespace Shears.Training;

/// <summary>Everything that decides a training run. Two runs with equal options and data end at equal weights.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>Null picks the optimizer's default: 1e-3 for Adam, 0.05 for SGD.</summary>
    public float? LearningRate { get; init; }
    /// <summary>Null picks the optimizer's default: 0 for Adam, 5e-4 for SGD.</summary>
    public float? WeightDecay { get; init; }
    public float Momentum { get; init; } = 0.9f;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    public int Seed { get; init; } = 1;
    /// <summary>Where a checkpoint is written (atomically) after each epoch; null writes none.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/> when there is one.</summary>
    public bool Resume { get; init; }
    /// <summary>Train towards a teacher's softened outputs as well as the labels (null: labels only).</summary>
    public Distillation? Distillation { get; init; }
    /// <summary>Translate each training image by up to this many pixels, at random (<see cref="RandomShift"/>; 0: none).</summary>
    public int MaxShift { get; init; }

    public float EffectiveLearningRate => LearningRate ?? (Optimizer == OptimizerKind.Adam ? 1e-3f : 0.05f);
    public float EffectiveWeightDecay => WeightDecay ?? (Optimizer == OptimizerKind.Adam ? 0f : 5e-4f);

    public void Validate()
    {
        if (Epochs < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be zero or more.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
        if (!(EffectiveLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
        if (MaxShift < 0) throw new ArgumentOutOfRangeException(nameof(MaxShift), MaxShift, "The largest shift must be zero or more pixels.");
        if (Resume && CheckpointDirectory is null) throw new ArgumentException("Resuming needs a checkpoint directory.");
    }
}

/// <summary>Raised after each batch and each epoch; the CLI turns it into a progress bar.</summary>
public sealed record TrainingProgress(
    int Epoch, int Epochs, int Batch, int BatchesPerEpoch, double Loss, double ImagesPerSecond,
    TimeSpan Elapsed, TimeSpan? Remaining, bool EpochCompleted, double? ValidationAccuracy);

public sealed record EpochRecord(int Epoch, double TrainLoss, double? ValidationAccuracy, double Seconds, double ImagesPerSecond);

public sealed record TrainingResult(IReadOnlyList<EpochRecord> Epochs, double TrainSeconds, double ImagesPerSecond, int ResumedFromEpoch);
