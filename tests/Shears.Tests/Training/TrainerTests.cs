using Shears.Data;
using Shears.Nn;
using Shears.Training;
using static Shears.Tests.Training.TrainingTestSupport;

namespace Shears.Tests.Training;

public class TrainerTests
{
    [Theory]
    [InlineData(OptimizerKind.Adam, 0.01f)]
    [InlineData(OptimizerKind.Sgd, 0.05f)]
    public void Training_loss_falls_and_accuracy_ends_high_on_learnable_data(OptimizerKind optimizer, float learningRate)
    {
        var train = Synthetic(250, seed: 1);
        var test = Synthetic(200, seed: 2);
        var model = Fcn(initSeed: 3);
        double before = Evaluator.Evaluate(model, test).Accuracy;
        var result = new Trainer(model, new TrainingOptions { Epochs = 8, BatchSize = 32, Optimizer = optimizer, LearningRate = learningRate })
            .Train(train, validation: test);

        Assert.Equal(8, result.Epochs.Count);
        Assert.Equal(Enumerable.Range(1, 8), result.Epochs.Select(e => e.Epoch));
        Assert.Equal(0, result.ResumedFromEpoch);
        double first = result.Epochs[0].TrainLoss, last = result.Epochs[^1].TrainLoss;
        Assert.True(last < 0.3 * first, $"training loss went from {first} to {last}");
        var after = Evaluator.Evaluate(model, test);
        Assert.True(after.Accuracy >= 0.95, $"test accuracy {after.Accuracy} (before training {before})");
        Assert.Equal(after.Accuracy, result.Epochs[^1].ValidationAccuracy);
        Assert.All(result.Epochs, e => Assert.NotNull(e.ValidationAccuracy));
    }

    [Fact]
    public void Two_runs_with_the_same_seed_end_at_bitwise_identical_weights()
    {
        var train = Synthetic(250, seed: 1);
        var options = new TrainingOptions { Epochs = 3, BatchSize = 32, LearningRate = 0.01f, Seed = 7 };
        var a = Fcn(initSeed: 3);
        var b = Fcn(initSeed: 3);
        var ra = new Trainer(a, options).Train(train);
        var rb = new Trainer(b, options).Train(train);
        Assert.Equal(WeightBits(a), WeightBits(b));
        Assert.Equal(ra.Epochs.Select(e => e.TrainLoss), rb.Epochs.Select(e => e.TrainLoss));

        var c = Fcn(initSeed: 3);
        new Trainer(c, options with { Seed = 8 }).Train(train);
        Assert.NotEqual(WeightBits(a), WeightBits(c));
    }

    /// <summary>Trains with <paramref name="options"/>, cancelling from the progress callback once epoch 3's second batch is done.</summary>
    private static void TrainAndInterrupt(Sequential model, TrainingOptions options, Dataset train)
    {
        using var cancel = new CancellationTokenSource();
        int batchesSeen = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.EpochCompleted) return;
            batchesSeen++;
            if (p.Epoch == 3 && p.Batch == 2) cancel.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(model, options).Train(train, progress: progress, cancellation: cancel.Token));
        Assert.Equal(2 * 8 + 2, batchesSeen);
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, 0)]
    [InlineData(OptimizerKind.Sgd, 0)]
    [InlineData(OptimizerKind.Adam, 1)] // random shifts must replay too
    public void A_run_interrupted_in_epoch_three_resumes_from_its_checkpoint_to_the_same_weights_as_an_uninterrupted_run(OptimizerKind optimizer, int maxShift)
    {
        // 250 samples at batch 32: 8 batches per epoch, the last one partial.
        var train = Synthetic(250, seed: 1);
        using var dir = new TempDirectory();
        var options = new TrainingOptions
        {
            Epochs = 4, BatchSize = 32, Optimizer = optimizer, LearningRate = 0.02f, WeightDecay = 1e-3f, Seed = 5, MaxShift = maxShift,
            CheckpointDirectory = dir.Path, Resume = true,
        };

        // Uninterrupted reference, with a pruned first layer (masks must survive the checkpoint too).
        var reference = Fcn(initSeed: 3);
        reference.GetParameter("fc1.weight").SetMask(Checkerboard(12, 16));
        var full = new Trainer(reference, options with { CheckpointDirectory = null, Resume = false }).Train(train);

        var interrupted = Fcn(initSeed: 3);
        interrupted.GetParameter("fc1.weight").SetMask(Checkerboard(12, 16));
        TrainAndInterrupt(interrupted, options, train);
        Assert.True(File.Exists(Checkpoint.PathIn(dir.Path)));

        // A fresh model, initialised differently and without the mask: everything must come from the checkpoint.
        var resumed = Fcn(initSeed: 99);
        var trainer = new Trainer(resumed, options);
        var result = trainer.Train(train);

        Assert.Equal(2, result.ResumedFromEpoch);
        Assert.Equal([1, 2, 3, 4], result.Epochs.Select(e => e.Epoch));
        Assert.Equal(full.Epochs.Select(e => e.TrainLoss), result.Epochs.Select(e => e.TrainLoss));
        Assert.Equal(4L * 8, trainer.Optimizer.StepCount);
        Assert.Equal(WeightBits(reference), WeightBits(resumed));
        Assert.Equal(Checkerboard(12, 16).ReadOnlySpan.ToArray(), resumed.GetParameter("fc1.weight").Mask!.ReadOnlySpan.ToArray());
        Assert.Null(resumed.GetParameter("fc2.weight").Mask);
    }

    [Fact]
    public void Resuming_a_finished_run_restores_its_weights_and_trains_no_further()
    {
        var train = Synthetic(64, seed: 1);
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.01f, CheckpointDirectory = dir.Path, Resume = true };
        var model = Fcn(initSeed: 3);
        var first = new Trainer(model, options).Train(train);
        Assert.Equal(0, first.ResumedFromEpoch);

        var again = Fcn(initSeed: 4);
        var result = new Trainer(again, options).Train(train);
        Assert.Equal(2, result.ResumedFromEpoch);
        Assert.Equal(first.Epochs.Select(e => e.TrainLoss), result.Epochs.Select(e => e.TrainLoss));
        Assert.Equal(WeightBits(model), WeightBits(again));
    }

    [Fact]
    public void Resume_without_a_checkpoint_file_starts_from_the_beginning()
    {
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Epochs = 1, BatchSize = 16, CheckpointDirectory = dir.Path, Resume = true };
        var result = new Trainer(Fcn(initSeed: 3), options).Train(Synthetic(32, seed: 1));
        Assert.Equal(0, result.ResumedFromEpoch);
        Assert.Single(result.Epochs);
        Assert.True(File.Exists(Checkpoint.PathIn(dir.Path)));
    }

    public static TheoryData<string> DifferentRuns => ["seed", "epochs", "batch", "learning rate", "optimizer", "shift", "model", "data"];

    [Theory]
    [MemberData(nameof(DifferentRuns))]
    public void A_checkpoint_from_a_different_run_is_rejected(string change)
    {
        var train = Synthetic(64, seed: 1);
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Epochs = 1, BatchSize = 16, LearningRate = 0.01f, CheckpointDirectory = dir.Path, Resume = true };
        new Trainer(Fcn(initSeed: 3), options).Train(train);

        var model = change == "model" ? Fcn(initSeed: 3, hidden: 13) : Fcn(initSeed: 3);
        var data = change == "data" ? Synthetic(65, seed: 1) : train;
        var other = change switch
        {
            "seed" => options with { Seed = 2 },
            "epochs" => options with { Epochs = 2 },
            "batch" => options with { BatchSize = 8 },
            "learning rate" => options with { LearningRate = 0.02f },
            "optimizer" => options with { Optimizer = OptimizerKind.Sgd },
            "shift" => options with { MaxShift = 1 },
            _ => options,
        };
        var path = Checkpoint.PathIn(dir.Path);
        var e = Assert.Throws<CheckpointException>(() => new Trainer(model, other).Train(data));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("another run", e.Message);
    }

    [Fact]
    public void A_truncated_checkpoint_is_rejected_naming_the_file()
    {
        var train = Synthetic(64, seed: 1);
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Epochs = 1, BatchSize = 16, CheckpointDirectory = dir.Path, Resume = true };
        new Trainer(Fcn(initSeed: 3), options).Train(train);
        var path = Checkpoint.PathIn(dir.Path);
        var bytes = File.ReadAllBytes(path);
        foreach (int length in new[] { 0, 5, 12, bytes.Length / 3, bytes.Length / 2, bytes.Length - 4, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
            var e = Assert.Throws<CheckpointException>(() => new Trainer(Fcn(initSeed: 3), options).Train(train));
            Assert.Equal(path, e.FilePath);
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void Masks_hold_during_training_with_momentum_and_weight_decay()
    {
        var train = Synthetic(128, seed: 1);
        var model = Fcn(initSeed: 3);
        var weight = model.GetParameter("fc1.weight");
        var mask = Checkerboard(12, 16);
        weight.SetMask(mask);
        var before = weight.Value.ReadOnlySpan.ToArray();
        var trainer = new Trainer(model, new TrainingOptions { Epochs = 3, BatchSize = 16, Optimizer = OptimizerKind.Sgd, WeightDecay = 0.01f });
        trainer.Train(train);

        Assert.Same(mask, weight.Mask);
        Assert.Equal(96, weight.KeptCount);
        var state = trainer.Optimizer.State[0][0];
        for (int i = 0; i < weight.Count; i++)
        {
            if (mask.ReadOnlySpan[i] == 0f)
            {
                Assert.True(weight.Value.ReadOnlySpan[i] == 0f, $"pruned weight {i} is {weight.Value.ReadOnlySpan[i]}");
                Assert.True(state[i] == 0f, $"pruned weight {i} has momentum {state[i]}");
            }
            else Assert.NotEqual(before[i], weight.Value.ReadOnlySpan[i]);
        }
    }

    [Fact]
    public void Progress_is_reported_after_every_batch_and_every_epoch()
    {
        var reports = new List<TrainingProgress>();
        new Trainer(Fcn(initSeed: 3), new TrainingOptions { Epochs = 2, BatchSize = 16 })
            .Train(Synthetic(40, seed: 1), progress: new SyncProgress(reports.Add));
        // 40 samples at batch 16: 3 batches (16, 16, 8) per epoch, then the epoch's report.
        Assert.Equal(2 * (3 + 1), reports.Count);
        Assert.Equal([1, 2, 3, 3, 1, 2, 3, 3], reports.Select(r => r.Batch));
        Assert.Equal([false, false, false, true, false, false, false, true], reports.Select(r => r.EpochCompleted));
        Assert.All(reports, r => { Assert.Equal(2, r.Epochs); Assert.Equal(3, r.BatchesPerEpoch); Assert.True(double.IsFinite(r.Loss)); });
        Assert.Null(reports[^1].ValidationAccuracy);
    }

    [Theory]
    [InlineData(ScheduleKind.Cosine)]
    [InlineData(ScheduleKind.Step)]
    public void Every_step_uses_the_scheduled_rate_for_its_global_step(ScheduleKind kind)
    {
        var options = new TrainingOptions { Epochs = 3, BatchSize = 16, LearningRate = 0.01f, Schedule = kind };
        var trainer = new Trainer(Fcn(initSeed: 3), options);
        var rates = new List<float>();
        trainer.Train(Synthetic(40, seed: 1), progress: new SyncProgress(p => { if (!p.EpochCompleted) rates.Add(trainer.Optimizer.LearningRate); }));
        // 3 batches per epoch, 9 steps in all.
        var schedule = new LearningRateSchedule(kind, 0.01f, 9);
        Assert.Equal(Enumerable.Range(0, 9).Select(step => schedule.At(step)), rates);
    }

    [Fact]
    public void Training_stops_with_TrainingDivergedException_when_the_loss_is_not_finite()
    {
        // An absurd learning rate: the first step blows the weights up and the next batch's logits overflow.
        var options = new TrainingOptions { Epochs = 1, BatchSize = 8, Optimizer = OptimizerKind.Sgd, LearningRate = 1e30f, Schedule = ScheduleKind.Constant };
        var e = Assert.Throws<TrainingDivergedException>(() => new Trainer(Fcn(initSeed: 3), options).Train(Synthetic(32, seed: 1)));
        Assert.Contains("diverged at epoch 1", e.Message);
    }

    [Fact]
    public void Trainer_rejects_data_that_does_not_fit_the_model()
    {
        var trainer = new Trainer(Fcn(initSeed: 3), new TrainingOptions { Epochs = 1 });
        Assert.Contains("fcn", Assert.Throws<ArgumentException>(() => trainer.Train(new Dataset("flat", new float[32], new int[2], [16]))).Message);
        Assert.Contains("classes", Assert.Throws<ArgumentException>(() => trainer.Train(new Dataset("wide", new float[32], [0, 5], [1, 4, 4]))).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => trainer.Train(new Dataset("none", [], [], [1, 4, 4], 4))).Message);
    }

    [Fact]
    public void Trainer_validates_its_options()
    {
        var model = Fcn(initSeed: 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, new TrainingOptions { Epochs = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, new TrainingOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, new TrainingOptions { LearningRate = 0f }));
        Assert.Throws<ArgumentException>(() => new Trainer(model, new TrainingOptions { Resume = true }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, new TrainingOptions { MaxShift = -1 }));
    }

    [Fact]
    public void Training_options_default_per_optimizer()
    {
        var adam = new TrainingOptions();
        Assert.Equal(1e-3f, adam.EffectiveLearningRate);
        Assert.Equal(0f, adam.EffectiveWeightDecay);
        var sgd = new TrainingOptions { Optimizer = OptimizerKind.Sgd };
        Assert.Equal(0.05f, sgd.EffectiveLearningRate);
        Assert.Equal(5e-4f, sgd.EffectiveWeightDecay);
        Assert.Equal(0.2f, (sgd with { LearningRate = 0.2f }).EffectiveLearningRate);
        var trainer = new Trainer(Fcn(initSeed: 3), sgd);
        Assert.IsType<Sgd>(trainer.Optimizer);
        Assert.Equal(5e-4f, trainer.Optimizer.WeightDecay);
    }

    [Fact]
    public void Shuffle_is_a_permutation_fixed_by_seed_and_epoch()
    {
        int[] Order(int seed, int epoch)
        {
            var order = new int[100];
            Trainer.Shuffle(order, seed, epoch);
            return order;
        }
        Assert.Equal(Enumerable.Range(0, 100), Order(1, 0).Order());
        Assert.Equal(Order(1, 3), Order(1, 3));
        Assert.NotEqual(Order(1, 3), Order(1, 4));
        Assert.NotEqual(Order(1, 3), Order(2, 3));
        Assert.NotEqual(Enumerable.Range(0, 100), Order(1, 0));
    }
}
