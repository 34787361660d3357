using Shears.Data;
using Shears.Models;
using Shears.Nn;
using Shears.Tensors;
using Shears.Training;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

/// <summary>
/// Evaluation runs large models in passes of <see cref="Sequential.InferenceBatchSize"/> samples, a speed choice
/// that must not change a single result: every sample's logits are the same bits whichever samples share its pass.
/// </summary>
public class InferenceBatchTests
{
    [Fact]
    public void Inference_batch_keeps_the_largest_layer_within_the_activation_budget()
    {
        // CNN-3's largest stage as the layers run (conv1 and pool1 as one, ReLU after the pool) is conv2: 32×14×14 in,
        // 64×14×14 out per sample.
        long cnn3 = 32 * 196 + 64 * 196;
        Assert.Equal(Sequential.ActivationBudgetBytes / (4 * cnn3) / 8 * 8, ModelZoo.Create("cnn3").InferenceBatchSize);
        // FCN-2's is the flatten: 784 in, 784 out (fc1 has 784 in, 300 out).
        Assert.Equal(Sequential.ActivationBudgetBytes / (4 * (784 + 784)) / 8 * 8, ModelZoo.Create("fcn2").InferenceBatchSize);
        var cnn3Model = ModelZoo.Create("cnn3");
        Assert.InRange(cnn3Model.InferenceBatchSize, 8, 64);
        Assert.Equal(cnn3Model.InferenceBatchSize, cnn3Model.InferencePassSize(1000));
        Assert.Equal(5, cnn3Model.InferencePassSize(5));
        // A layer too large for the budget even alone still gets one convolution group.
        var huge = new Sequential("huge", [1, 512, 512], new Conv2d("conv", 1, 64, 3, padding: 1));
        Assert.Equal(Convolution.GroupSize, huge.InferenceBatchSize);
    }

    [Theory]
    [InlineData("cnn3", false)]
    [InlineData("cnn3", true)]    // pruned so far that the sparse convolution and linear kernels run
    [InlineData("fcn2", false)]
    [InlineData("fcn2", true)]
    public void Each_sample_gets_the_same_logits_whatever_shares_its_pass(string name, bool pruned)
    {
        var model = ModelZoo.Create(name, seed: 3);
        var rng = new Random(5);
        if (pruned)
            foreach (var p in model.PrunableParameters)
            {
                var mask = new float[p.Count];
                for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < 0.04 ? 1 : 0;
                p.SetMask(new Tensor(mask, p.Value.Shape.ToArray()));
            }
        const int samples = 45;   // passes of 8 leave a tail of 5
        int length = model.InputShape.Aggregate(1, (a, b) => a * b);
        var images = RandomFloats(rng, samples * length);
        var whole = model.Forward(new Tensor(images, [samples, .. model.InputShape]), training: false).ReadOnlySpan.ToArray();
        foreach (int pass in new[] { 1, 8, 13 })
            for (int start = 0; start < samples; start += pass)
            {
                int count = Math.Min(pass, samples - start);
                var part = new Tensor(images.AsSpan(start * length, count * length).ToArray(), [count, .. model.InputShape]);
                var logits = model.Forward(part, training: false).ReadOnlySpan;
                for (int i = 0; i < logits.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(logits[i]) == BitConverter.SingleToInt32Bits(whole[start * 10 + i]),
                        $"{name} pass of {pass}, sample {start + i / 10}: {logits[i]} against {whole[start * 10 + i]} in one pass");
            }
    }

    [Fact]
    public void Evaluation_and_teacher_outputs_of_a_convolutional_network_do_not_depend_on_the_requested_batch_size()
    {
        var model = ModelZoo.Create("cnn3", seed: 2);
        var rng = new Random(8);
        const int samples = 100;
        var data = new Dataset("random", RandomFloats(rng, samples * 784), Enumerable.Range(0, samples).Select(i => i * 7 % 10).ToArray(), [1, 28, 28], 10);
        var correctLarge = new bool[samples];
        var correctSmall = new bool[samples];
        var large = Evaluator.Evaluate(model, data, 1000, correct: correctLarge);
        var small = Evaluator.Evaluate(model, data, 3, correct: correctSmall);
        Assert.Equal(large.Correct, small.Correct);
        Assert.Equal(large.Loss, small.Loss);
        Assert.Equal(correctLarge, correctSmall);
        Assert.Equal(large.ConfusionMatrix, small.ConfusionMatrix);

        // The teacher's outputs for distillation are inference passes too.
        var teacherLarge = Distillation.FromTeacher(model, data, temperature: 2f, weight: 0.9f, batchSize: 1000);
        var teacherSmall = Distillation.FromTeacher(model, data, temperature: 2f, weight: 0.9f, batchSize: 3);
        Assert.True(teacherLarge.Targets.ReadOnlySpan.SequenceEqual(teacherSmall.Targets.ReadOnlySpan));
    }
}
