using Shears.Data;
using Shears.Models;
using Shears.Nn;
using Shears.Training;

namespace Shears.Cli.Commands;

/// <summary>One `train` invocation's work, shared with `reproduce`: data, model, training, evaluation.</summary>
internal sealed class TrainRun(string modelName, TrainingOptions options, ValidationSplit split, string dataset, string? dataDir)
{
    public sealed record Metrics(
        string Model, int Epochs, int BatchSize, string Optimizer, float LearningRate, int Seed, int Shift,
        double TrainSeconds, double ImagesPerSecond, double ValidationAccuracy, double TestAccuracy, double TestLoss,
        long Connections, string ValidationSplit, int ResumedFromEpoch, IReadOnlyList<EpochRecord> History);

    public sealed record Result(Sequential Model, Metrics Metrics, Dataset Validation, Dataset Test);

    public Result Execute(CliContext context, CancellationToken cancellation)
    {
        var splits = context.LoadDataset(dataset, dataDir, cancellation);
        var (train, validation) = split.Apply(splits.Train);
        var model = ModelZoo.Create(modelName, train.SampleShape, Math.Max(train.ClassCount, splits.Test.ClassCount), options.Seed);
        var trainer = new Trainer(model, options);
        var result = TrainingView.Run(context.Console, modelName, progress => trainer.Train(train, validation, progress, cancellation));
        var val = Evaluator.Evaluate(model, validation, cancellation: cancellation);
        var test = Evaluator.Evaluate(model, splits.Test, cancellation: cancellation);
        var metrics = new Metrics(modelName, options.Epochs, options.BatchSize, options.Optimizer.ToString().ToLowerInvariant(), options.EffectiveLearningRate, options.Seed, options.MaxShift,
            result.TrainSeconds, result.ImagesPerSecond, val.Accuracy, test.Accuracy, test.Loss, model.Connections().Total, split.ToString(), result.ResumedFromEpoch, result.Epochs);
        return new Result(model, metrics, validation, splits.Test);
    }
}
