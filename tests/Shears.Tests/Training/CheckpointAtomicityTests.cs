using Shears.Models;
using Shears.Training;

namespace Shears.Tests.Training;

public sealed class CheckpointAtomicityTests
{
    [Fact]
    public void A_checkpoint_that_fails_to_load_leaves_the_model_and_optimizer_as_they_were()
    {
        string folder = Directory.CreateTempSubdirectory("shears-ck-").FullName;
        try
        {
            string path = Checkpoint.PathIn(folder);
            var saved = ModelZoo.Create("fcn1", seed: 1);
            var savedOptimizer = Optimizer.Create(OptimizerKind.Adam, saved.Parameters, 1e-3f, 0f);
            Checkpoint.Save(path, saved, savedOptimizer, 1, [], "run");
            // Cut the file inside the last parameter, after the first one has been read in full.
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length - 16)]);

            var model = ModelZoo.Create("fcn1", seed: 2);
            var optimizer = Optimizer.Create(OptimizerKind.Adam, model.Parameters, 1e-3f, 0f);
            var before = model.Parameters.Select(p => p.Value.ReadOnlySpan.ToArray()).ToArray();

            var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, model, optimizer, "run"));

            Assert.Contains(path, error.Message);
            for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], model.Parameters[i].Value.ReadOnlySpan.ToArray());
            Assert.Equal(0, optimizer.StepCount);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
