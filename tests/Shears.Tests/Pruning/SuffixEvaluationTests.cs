using Shears.Data;
using Shears.Models;
using Shears.Nn;
using Shears.Pruning;
using Shears.Tensors;
using Shears.Training;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Pruning;

/// <summary>
/// A sensitivity sweep runs the network from the swept layer on, over what entered it once: a speed choice that must
/// give the same logits, to the bit, and so the same accuracies as evaluating the whole network each time.
/// </summary>
public class SuffixEvaluationTests
{
    private static Sequential Model(string name, bool pruned)
    {
        var model = ModelZoo.Create(name, seed: 4);
        var rng = new Random(6);
        if (pruned)
            foreach (var p in model.PrunableParameters)
                p.SetMask(new Tensor(Enumerable.Range(0, p.Count).Select(_ => rng.NextDouble() < 0.04 ? 1f : 0f).ToArray(), p.Value.Shape.ToArray()));
        return model;
    }

    [Theory]
    [InlineData("cnn3", false)]
    [InlineData("cnn3", true)]    // sparse convolution and linear kernels
    [InlineData("fcn2", false)]
    public void Running_from_any_layer_on_what_entered_it_gives_the_same_logits(string name, bool pruned)
    {
        var model = Model(name, pruned);
        const int samples = 21;
        var images = RandomFloats(new Random(7), samples * (int)Tensor.Product(model.InputShape));
        var whole = model.Forward(new Tensor(images, [samples, .. model.InputShape]), training: false).ReadOnlySpan.ToArray();
        for (int first = 0; first < model.ExecutionOrder.Count; first++)
        {
            Tensor x = new(images.ToArray(), [samples, .. model.InputShape]);
            for (int i = 0; i < first; i++) x = model.ExecutionOrder[i].Forward(x, training: false);
            Assert.Equal([samples, .. model.ShapeEntering(first)], x.Shape.ToArray());
            var logits = model.ForwardFrom(first, x.Clone(), training: false).ReadOnlySpan;
            for (int i = 0; i < whole.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(logits[i]) == BitConverter.SingleToInt32Bits(whole[i]),
                    $"{name} from layer {first}, value {i}: {logits[i]} against {whole[i]}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ForwardFrom(model.ExecutionOrder.Count, new Tensor(1, 10), training: false));
    }

    [Theory]
    [InlineData("cnn3")]
    [InlineData("fcn2")]
    public void Accuracy_after_the_layer_changes_equals_a_whole_evaluation(string name)
    {
        var model = Model(name, pruned: false);
        var rng = new Random(9);
        const int samples = 77;   // passes leave a tail
        int length = (int)Tensor.Product(model.InputShape);
        var images = RandomFloats(rng, samples * length);
        // Labels the network gets right about half the time, so a changed prediction moves the accuracy.
        var logits = model.Forward(new Tensor(images.ToArray(), [samples, .. model.InputShape]), training: false).ReadOnlySpan.ToArray();
        var labels = Enumerable.Range(0, samples).Select(i => i % 2 == 0 ? Evaluator.ArgMax(logits.AsSpan(i * 10, 10)) : rng.Next(10)).ToArray();
        var data = new Dataset("random", images, labels, model.InputShape, 10);
        foreach (var weight in PrunableWeight.Of(model))
        {
            var suffix = new SuffixEvaluation(model, weight.Layer, data, batchSize: 1000);
            Assert.Equal(samples, suffix.Count);
            Assert.Equal(Evaluator.Evaluate(model, data).Accuracy, suffix.Accuracy());
            var saved = weight.Weight.Mask;
            foreach (double keep in new[] { 0.5, 0.1, 0.01 })
            {
                weight.Weight.SetMask(new Tensor(Enumerable.Range(0, weight.Weight.Count).Select(_ => rng.NextDouble() < keep ? 1f : 0f).ToArray(), weight.Weight.Value.Shape.ToArray()));
                Assert.Equal(Evaluator.Evaluate(model, data).Accuracy, suffix.Accuracy());
            }
            weight.Weight.SetMask(saved);
        }
        var stranger = new Linear("other", 3, 2);
        Assert.Throws<ArgumentException>(() => new SuffixEvaluation(model, stranger, data, 1000));
    }
}
