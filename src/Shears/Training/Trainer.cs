using System.Diagnostics;
using Shears.Data;
using Shears.Nn;

namespace Shears.Training;

/// <summary>
/// Mini-batch training: seeded shuffles, an optimizer that respects masks, a learning-rate schedule,
/// a checkpoint each epoch and resumption from it. Workspaces are allocated once; batches do not allocate.
/// </summary>
public sealed class Trainer
{
    private readonly Sequential _model;
    private readonly TrainingOptions _options;

    public Trainer(Sequential model, TrainingOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
        Optimizer = Training.Optimizer.Create(options.Optimizer, model.Parameters, options.EffectiveLearningRate, options.EffectiveWeightDecay, options.Momentum);
    }

    public Optimizer Optimizer { get; }

    public TrainingResult Train(Dataset train, Dataset? validation = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (!train.SampleShape.AsSpan().SequenceEqual(_model.InputShape))
            throw new ArgumentException($"Dataset '{train.Name}' has samples [{string.Join(", ", train.SampleShape)}] but model '{_model.Name}' takes [{string.Join(", ", _model.InputShape)}].");
        if (train.ClassCount > _model.ClassCount)
            throw new ArgumentException($"Dataset '{train.Name}' has {train.ClassCount} classes but model '{_model.Name}' predicts {_model.ClassCount}.");
        if (train.Count == 0) throw new ArgumentException($"Dataset '{train.Name}' is empty.");
        RandomShift.Check(_options.MaxShift, _model.InputShape, $"The samples of model '{_model.Name}'");
        if (_options.Distillation is { } d && (d.Count != train.Count || d.Classes != _model.ClassCount))
            throw new ArgumentException($"The distillation targets are [{d.Count}, {d.Classes}] but dataset '{train.Name}' has {train.Count} samples and model '{_model.Name}' {_model.ClassCount} classes.");

        int batchSize = Math.Min(_options.BatchSize, train.Count);
        int batchesPerEpoch = (train.Count + batchSize - 1) / batchSize;
        var schedule = new LearningRateSchedule(_options.Schedule, _options.EffectiveLearningRate, (long)batchesPerEpoch * _options.Epochs);
        var history = new List<EpochRecord>();
        int startEpoch = 0;
        var checkpoint = _options.CheckpointDirectory is null ? null : Checkpoint.PathIn(_options.CheckpointDirectory);
        if (_options.Resume && checkpoint is not null && File.Exists(checkpoint))
        {
            var saved = Checkpoint.Load(checkpoint, _model, Optimizer, Fingerprint(train));
            startEpoch = saved.CompletedEpochs;
            history.AddRange(saved.History);
        }

        Tensor? images = null;
        var labels = new int[batchSize];
        var order = new int[train.Count];
        var loss = new TrainingLoss(labels, order, _model.ClassCount, _options.Distillation is null ? null : new DistillationLoss(_options.Distillation));
        var shift = _options.MaxShift == 0 ? null : new RandomShift(_options.MaxShift, _model.InputShape);
        var total = Stopwatch.StartNew();
        long imagesSeen = 0;

        for (int epoch = startEpoch; epoch < _options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            Shuffle(order, _options.Seed, epoch);
            var shifts = shift is null ? null : EpochRandom(_options.Seed, epoch, salt: 29);
            double lossSum = 0;
            for (int b = 0; b < batchesPerEpoch; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                int start = b * batchSize, n = Math.Min(batchSize, train.Count - start);
                var x = Tensor.Reuse(ref images, BatchShape(n));
                train.CopyBatch(order.AsSpan(start, n), x.Span, labels.AsSpan(0, n));
                shift?.Apply(x.Span, n, shifts!);

                loss.BatchStart = start;
                double batchLoss = _model.TrainingStep(x, loss);
                if (!double.IsFinite(batchLoss))
                    throw new TrainingDivergedException($"Training diverged at epoch {epoch + 1}, batch {b + 1}: the loss is {batchLoss}. Lower the learning rate (now {Optimizer.LearningRate}).");
                Optimizer.LearningRate = schedule.At((long)epoch * batchesPerEpoch + b);
                Optimizer.Step();

                lossSum += batchLoss * n;
                imagesSeen += n;
                if (progress is not null)
                {
                    double rate = (start + n) / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                    double remainingImages = (double)(_options.Epochs - epoch - 1) * train.Count + train.Count - start - n;
                    progress.Report(new TrainingProgress(epoch + 1, _options.Epochs, b + 1, batchesPerEpoch, lossSum / (start + n), rate,
                        total.Elapsed, TimeSpan.FromSeconds(remainingImages / Math.Max(1e-9, rate)), false, null));
                }
            }
            double seconds = epochClock.Elapsed.TotalSeconds;
            double? validationAccuracy = validation is null || validation.Count == 0 ? null : Evaluator.Evaluate(_model, validation).Accuracy;
            var record = new EpochRecord(epoch + 1, lossSum / train.Count, validationAccuracy, seconds, train.Count / seconds);
            history.Add(record);
            if (checkpoint is not null) Checkpoint.Save(checkpoint, _model, Optimizer, epoch + 1, history, Fingerprint(train));
            progress?.Report(new TrainingProgress(epoch + 1, _options.Epochs, batchesPerEpoch, batchesPerEpoch, record.TrainLoss, record.ImagesPerSecond,
                total.Elapsed, null, true, validationAccuracy));
        }

        double trained = history.Sum(h => h.Seconds);
        double trainedImages = (double)history.Count * train.Count;
        return new TrainingResult(history, trained, trained > 0 ? trainedImages / trained : 0, startEpoch);
    }

    private int[] BatchShape(int n)
    {
        var s = new int[_model.InputShape.Length + 1];
        s[0] = n;
        _model.InputShape.CopyTo(s, 1);
        return s;
    }

    /// <summary>The epoch's order depends only on the seed and the epoch, so a resumed run replays it exactly.</summary>
    internal static void Shuffle(int[] order, int seed, int epoch)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        EpochRandom(seed, epoch, salt: 17).Shuffle(order);
    }

    /// <summary>A generator that depends only on the seed, the epoch and what it is for, so a resumed run replays the epoch exactly.</summary>
    // HashCode.Combine is randomised per process, so mix by hand.
    private static Random EpochRandom(int seed, int epoch, int salt) => new(unchecked(seed * 1_000_003 + epoch * 7919 + salt));

    /// <summary>What a checkpoint must agree with to be resumed: the model, the data and the options that shape the run.</summary>
    private string Fingerprint(Dataset train) =>
        $"{_model.Name}|{string.Join(",", _model.Parameters.Select(p => p.Name + ":" + p.Count))}|{train.Name}:{train.Count}|" +
        $"{_options.Epochs}|{_options.BatchSize}|{_options.Optimizer}|{_options.EffectiveLearningRate}|{_options.EffectiveWeightDecay}|{_options.Momentum}|{_options.Schedule}|{_options.Seed}" +
        (_options.Distillation is { } d ? $"|distilled:{d.Weight}@{d.Temperature}" : "") +
        (_options.MaxShift > 0 ? $"|shift:{_options.MaxShift}" : "");
}

public sealed class TrainingDivergedException(string message) : ShearsException(message);
