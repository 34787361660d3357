using Shears.Models;
using Shears.Nn;
using Shears.Tensors;
using Shears.Training;
using static Shears.Tests.Nn.NnTestSupport;
using static Shears.Tests.Training.TrainingTestSupport;

namespace Shears.Tests.Nn;

/// <summary>
/// A training batch run in chunks (<see cref="Sequential.TrainingStep"/>) must give the bits of the same batch run
/// whole: the chunk size is a speed choice only. Each case compares every bit of the loss and of every gradient.
/// </summary>
public sealed class TrainingChunkTests
{
    private static int[] Bits(ReadOnlySpan<float> values) => values.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>CNN-3 with its convolutions and fully connected layer pruned far enough for the sparse kernels (or dense).</summary>
    private static Sequential Cnn3(bool pruned)
    {
        var model = ModelZoo.Create("cnn3", seed: 5);
        if (!pruned) return model;
        var rng = new Random(9);
        foreach (var (name, density) in new[] { ("conv1.weight", 0.3), ("conv2.weight", 0.03), ("fc.weight", 0.02) })
        {
            var p = model.GetParameter(name);
            var mask = new Tensor(p.Value.Shape.ToArray());
            for (int i = 0; i < mask.Length; i++) mask.Data[i] = rng.NextDouble() < density ? 1 : 0;
            p.SetMask(mask);
            p.ApplyMask();
        }
        return model;
    }

    [Theory]
    [InlineData(false, 37, 8)]
    [InlineData(false, 37, 16)]
    [InlineData(true, 37, 8)]
    [InlineData(true, 40, 16)]
    [InlineData(true, 61, 24)]
    public void A_step_in_chunks_gives_the_loss_and_gradients_of_the_whole_batch_to_the_bit(bool pruned, int batch, int chunk)
    {
        var rng = new Random(batch * 31 + chunk);
        var input = new Tensor(RandomFloats(rng, batch * 784), batch, 1, 28, 28);
        var labels = Enumerable.Range(0, batch).Select(_ => rng.Next(10)).ToArray();

        // The whole batch the plain way: Forward, the loss over all rows, Backward.
        var whole = Cnn3(pruned);
        var (wholeLoss, gradient) = new SoftmaxCrossEntropy().Compute(whole.Forward(input, training: true), labels);
        whole.Backward(gradient);

        var chunked = Cnn3(pruned);
        chunked.TrainingChunkSize = chunk;
        Assert.True(chunk * KernelThreads.Current < batch, "the case must run in more than one chunk");
        double chunkedLoss = chunked.TrainingStep(input, new TrainingLoss(labels, labels, 10, distilled: null));

        Assert.Equal(BitConverter.DoubleToInt64Bits(wholeLoss), BitConverter.DoubleToInt64Bits(chunkedLoss));
        foreach (var (w, c) in whole.Parameters.Zip(chunked.Parameters))
            Assert.True(Bits(w.Gradient.ReadOnlySpan).SequenceEqual(Bits(c.Gradient.ReadOnlySpan)), $"{w.Name}'s gradient differs");
        Assert.Contains(whole.Parameters, p => p.Gradient.ReadOnlySpan.ToArray().Any(v => v != 0));

        // A second step on the same model (workspaces reused, a short last chunk) still matches.
        var again = new Tensor(RandomFloats(rng, 29 * 784), 29, 1, 28, 28);
        var againLabels = labels[..29];
        (wholeLoss, gradient) = new SoftmaxCrossEntropy().Compute(whole.Forward(again, training: true), againLabels);
        whole.Backward(gradient);
        chunked.TrainingChunkSize = 8;
        chunkedLoss = chunked.TrainingStep(again, new TrainingLoss(againLabels, againLabels, 10, distilled: null));
        Assert.Equal(wholeLoss, chunkedLoss);
        foreach (var (w, c) in whole.Parameters.Zip(chunked.Parameters))
            Assert.True(Bits(w.Gradient.ReadOnlySpan).SequenceEqual(Bits(c.Gradient.ReadOnlySpan)), $"{w.Name}'s gradient differs after a second step");
    }

    private static Sequential SmallCnn(int seed)
    {
        var model = new Sequential("small-cnn", SampleShape, new Conv2d("conv", 1, 3, 3, padding: 1), new Relu("relu"),
            new MaxPool2d("pool", 2), new Flatten("flatten"), new Linear("fc", 3 * 2 * 2, Classes));
        Initializer.HeUniform(model, seed);
        return model;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_in_chunks_ends_with_the_weights_and_losses_of_training_whole(bool distilled)
    {
        var train = Synthetic(83, seed: 2);   // batches of 32, 32 and 19
        var rng = new Random(6);
        var targets = new Tensor(train.Count, Classes);
        for (int i = 0; i < train.Count; i++)
        {
            var row = targets.Span.Slice(i * Classes, Classes);
            for (int c = 0; c < Classes; c++) row[c] = (float)rng.NextDouble() + 0.01f;
            float sum = 0;
            foreach (float v in row) sum += v;
            for (int c = 0; c < Classes; c++) row[c] /= sum;
        }
        var options = new TrainingOptions
        {
            Epochs = 2, BatchSize = 32, LearningRate = 0.05f, Seed = 4,
            Distillation = distilled ? new Distillation(targets, temperature: 3, weight: 0.5f) : null,
        };
        var whole = SmallCnn(1);
        whole.TrainingChunkSize = 0;
        var chunked = SmallCnn(1);
        chunked.TrainingChunkSize = 8;
        var rw = new Trainer(whole, options).Train(train);
        var rc = new Trainer(chunked, options).Train(train);

        Assert.Equal(WeightBits(whole), WeightBits(chunked));
        Assert.Equal(rw.Epochs.Select(e => e.TrainLoss), rc.Epochs.Select(e => e.TrainLoss));
        Assert.NotEqual(WeightBits(SmallCnn(1)), WeightBits(chunked));
    }

    [Fact]
    public void Chunks_hold_whole_convolution_groups_and_only_models_with_convolutions_have_them()
    {
        var cnn = ModelZoo.Create("cnn3", seed: 1);
        // CNN-3's largest stage is its second convolution (its first runs with its pool and writes 6,272 floats an
        // image): it reads 6,272 floats and writes 12,544 per image, so 24 images fit the 2 MiB budget.
        Assert.Equal(24, cnn.TrainingChunkSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => cnn.TrainingChunkSize = 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => cnn.TrainingChunkSize = -8);
        cnn.TrainingChunkSize = 0;
        Assert.Equal(0, cnn.TrainingChunkSize);

        var fcn = ModelZoo.Create("fcn2", seed: 1);
        Assert.Equal(0, fcn.TrainingChunkSize);
        fcn.TrainingChunkSize = 16;
        Assert.Equal(0, fcn.TrainingChunkSize);
    }
}
