using Shears.Nn;
using Shears.Training;
using static Shears.Tests.Training.TrainingTestSupport;

namespace Shears.Tests.Training;

public class CheckpointTests
{
    private static (Sequential Model, Optimizer Optimizer) Trained(OptimizerKind kind, int seed)
    {
        var model = Fcn(initSeed: seed);
        model.GetParameter("fc2.weight").SetMask(Checkerboard(4, 12));
        var optimizer = Optimizer.Create(kind, model.Parameters, 0.01f, 0.001f);
        var rng = new Random(seed);
        for (int step = 0; step < 3; step++)
        {
            foreach (var p in model.Parameters)
                for (int i = 0; i < p.Count; i++) p.Gradient.Span[i] = (float)(rng.NextDouble() - 0.5);
            optimizer.Step();
        }
        return (model, optimizer);
    }

    private static readonly EpochRecord[] History = [new(1, 1.25, null, 0.5, 1000), new(2, 0.75, 0.875, 0.25, 2000)];

    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Sgd)]
    public void Save_then_load_restores_values_masks_optimizer_state_steps_and_history(OptimizerKind kind)
    {
        using var dir = new TempDirectory();
        var path = Checkpoint.PathIn(dir.Path);
        var (model, optimizer) = Trained(kind, seed: 1);
        Checkpoint.Save(path, model, optimizer, 2, History, "run-a");

        // A fresh model with other weights and a mask the checkpoint does not have.
        var fresh = Fcn(initSeed: 2);
        fresh.GetParameter("fc1.weight").SetMask(Checkerboard(12, 16));
        var freshOptimizer = Optimizer.Create(kind, fresh.Parameters, 0.01f, 0.001f);
        var saved = Checkpoint.Load(path, fresh, freshOptimizer, "run-a");

        Assert.Equal(2, saved.CompletedEpochs);
        Assert.Equal(History, saved.History);
        Assert.Equal(3, freshOptimizer.StepCount);
        Assert.Equal(WeightBits(model), WeightBits(fresh));
        Assert.Null(fresh.GetParameter("fc1.weight").Mask);
        Assert.Equal(Checkerboard(4, 12).ReadOnlySpan.ToArray(), fresh.GetParameter("fc2.weight").Mask!.ReadOnlySpan.ToArray());
        for (int k = 0; k < optimizer.State.Length; k++)
            for (int j = 0; j < optimizer.State[k].Length; j++)
                Assert.Equal(optimizer.State[k][j], freshOptimizer.State[k][j]);
    }

    [Fact]
    public void Load_rejects_another_runs_fingerprint_before_changing_anything()
    {
        using var dir = new TempDirectory();
        var path = Checkpoint.PathIn(dir.Path);
        var (model, optimizer) = Trained(OptimizerKind.Adam, seed: 1);
        Checkpoint.Save(path, model, optimizer, 2, History, "run-a");
        var (other, otherOptimizer) = Trained(OptimizerKind.Adam, seed: 2);
        var before = WeightBits(other);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, other, otherOptimizer, "run-b"));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("run-a", e.Message);
        Assert.Contains("run-b", e.Message);
        Assert.Equal(before, WeightBits(other));
        Assert.Equal(3, otherOptimizer.StepCount);
    }

    [Fact]
    public void Load_rejects_a_checkpoint_truncated_at_any_byte_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = Checkpoint.PathIn(dir.Path);
        var (model, optimizer) = Trained(OptimizerKind.Adam, seed: 1);
        Checkpoint.Save(path, model, optimizer, 2, History, "run-a");
        var bytes = File.ReadAllBytes(path);
        var truncated = Path.Combine(dir.Path, "truncated.bin");
        var (target, targetOptimizer) = Trained(OptimizerKind.Adam, seed: 2);
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(truncated, bytes.AsSpan(0, length).ToArray());
            var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(truncated, target, targetOptimizer, "run-a"));
            Assert.Equal(truncated, e.FilePath);
        }
    }

    [Fact]
    public void Load_rejects_a_file_that_is_not_a_checkpoint()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "model.onnx");
        File.WriteAllBytes(path, [0x08, 0x07, 0x12, 0x05, 0x73, 0x68, 0x65, 0x61, 0x72, 0x73, 0, 0, 0, 0]);
        var (model, optimizer) = Trained(OptimizerKind.Adam, seed: 1);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, model, optimizer, "run-a"));
        Assert.Contains("magic", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Load_rejects_optimizer_state_of_another_kind()
    {
        using var dir = new TempDirectory();
        var path = Checkpoint.PathIn(dir.Path);
        var (model, optimizer) = Trained(OptimizerKind.Sgd, seed: 1);
        Checkpoint.Save(path, model, optimizer, 1, History, "run-a");
        var (other, adam) = Trained(OptimizerKind.Adam, seed: 1);
        Assert.Contains("buffers", Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, other, adam, "run-a")).Message);
    }

    [Fact]
    public void Load_rejects_a_model_with_other_parameter_sizes()
    {
        using var dir = new TempDirectory();
        var path = Checkpoint.PathIn(dir.Path);
        var (model, optimizer) = Trained(OptimizerKind.Adam, seed: 1);
        Checkpoint.Save(path, model, optimizer, 1, History, "run-a");
        var other = Fcn(initSeed: 1, hidden: 13);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, other, new Adam(other.Parameters, 0.01f), "run-a"));
        Assert.Contains("fc1.weight", e.Message);
    }
}
