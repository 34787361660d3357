using Shears.Nn;
using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class CriterionTests
{
    [Fact]
    public void Magnitude_scores_are_absolute_weights()
    {
        var model = PruningTestSupport.Small();
        Initializer.HeUniform(model, 1);
        var weights = PrunableWeight.Of(model);
        Assert.Equal(["fc1.weight", "fc2.weight"], weights.Select(w => w.Name));
        var scores = new MagnitudeCriterion().Score(model, weights, PruningTestSupport.Mnist.Validation);
        for (int l = 0; l < weights.Count; l++)
            Assert.Equal(weights[l].Weight.Value.ReadOnlySpan.ToArray().Select(MathF.Abs), scores[l]);
    }

    [Fact]
    public void Activation_aware_scores_multiply_each_weight_by_its_inputs_mean_magnitude()
    {
        var weight = new Parameter("conv.weight", new Tensor([1, -2, 3, -4, 5, -6, 7, -8], 2, 2, 2), prunable: true);
        var scores = ActivationAwareCriterion.Scores(weight, [0.5, 0.0]);
        Assert.Equal([0.5f, 1f, 0, 0, 2.5f, 3f, 0, 0], scores);
        Assert.Throws<ArgumentException>(() => ActivationAwareCriterion.Scores(weight, [1.0]));
    }

    [Fact]
    public void Activation_aware_gives_zero_to_weights_from_always_zero_pixels_and_prunes_them_first()
    {
        var model = PruningTestSupport.TrainedSmall();
        var validation = PruningTestSupport.Mnist.Validation;
        var weights = PrunableWeight.Of(model);
        var fc1 = weights[0].Weight;

        var deadPixel = new bool[784];
        for (int p = 0; p < 784; p++)
        {
            bool zero = true;
            for (int s = 0; s < validation.Count && zero; s++) zero = validation.Sample(s)[p] == 0f;
            deadPixel[p] = zero;
        }
        int dead = deadPixel.Count(d => d);
        Assert.True(dead > 40, $"Only {dead} pixels are zero in every validation image.");
        Assert.True(deadPixel[0] && deadPixel[783], "MNIST's corners should be zero everywhere.");

        var scores = new ActivationAwareCriterion().Score(model, weights, validation)[0];
        var w = fc1.Value.ReadOnlySpan.ToArray();
        int deadWeights = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (deadPixel[i % 784])
            {
                Assert.Equal(0f, scores[i]);
                deadWeights++;
            }
            else Assert.True(scores[i] > 0 || w[i] == 0, $"Weight {i} reads a live pixel yet scores {scores[i]}.");
        }
        Assert.Equal(dead * 64, deadWeights);
        // They never had a gradient, so they keep their random size: magnitude alone would keep many of them.
        double meanDead = Enumerable.Range(0, scores.Length).Where(i => deadPixel[i % 784]).Average(i => Math.Abs(w[i]));
        double meanLive = Enumerable.Range(0, scores.Length).Where(i => !deadPixel[i % 784]).Average(i => Math.Abs(w[i]));
        Assert.True(meanDead > 0.5 * meanLive, $"Dead-pixel weights average {meanDead}, live ones {meanLive}.");

        var ranking = ScoreRanking.Build(scores, default);
        var mask = ranking.MaskKeeping(scores.Length - deadWeights);
        for (int i = 0; i < mask.Length; i++) Assert.Equal(deadPixel[i % 784] ? 0f : 1f, mask[i]);
    }

    [Fact]
    public void Input_scales_are_root_mean_squares_that_follow_the_layers_inputs_through_the_network()
    {
        var model = PruningTestSupport.TrainedSmall();
        var validation = PruningTestSupport.Mnist.Validation.Take(50);
        var weights = PrunableWeight.Of(model);
        var means = ActivationAwareCriterion.InputRms(model, weights, validation, batchSize: 7);
        Assert.Equal(784, means[0].Length);
        Assert.Equal(64, means[1].Length);
        double pixel300 = Math.Sqrt(Enumerable.Range(0, 50).Average(s => (double)validation.Sample(s)[300] * validation.Sample(s)[300]));
        Assert.Equal(pixel300, means[0][300], 6);
        // fc2 reads ReLU outputs: non-negative, and some hidden units fire.
        Assert.All(means[1], m => Assert.True(m >= 0));
        Assert.Contains(means[1], m => m > 0);
    }

    [Fact]
    public void For_a_convolution_the_input_scale_is_per_channel_over_samples_and_positions()
    {
        var model = new Sequential("tinycnn", [1, 28, 28],
            new Conv2d("conv1", 1, 3, 3, padding: 1), new Relu("relu1"), new MaxPool2d("pool1", 2),
            new Conv2d("conv2", 3, 4, 3, padding: 1), new Relu("relu2"), new Flatten("flatten"), new Linear("fc", 4 * 14 * 14, 10));
        Initializer.HeUniform(model, 2);
        var data = PruningTestSupport.Mnist.Validation.Take(20);
        var weights = PrunableWeight.Of(model);
        Assert.Equal(["conv1.weight", "conv2.weight", "fc.weight"], weights.Select(w => w.Name));
        var means = ActivationAwareCriterion.InputRms(model, weights, data, batchSize: 8);
        Assert.Single(means[0]);
        Assert.Equal(Math.Sqrt(data.Images.Average(v => (double)v * v)), means[0][0], 6);

        // conv2 reads pool1's output: recompute its per-channel rms directly.
        var x = new Tensor(data.Images.ToArray(), 20, 1, 28, 28);
        var pooled = model.Layers[2].Forward(model.Layers[1].Forward(model.Layers[0].Forward(x, false), false), false);
        Assert.Equal(3, means[1].Length);
        for (int c = 0; c < 3; c++)
        {
            double sum = 0;
            for (int b = 0; b < 20; b++)
                for (int i = 0; i < 14 * 14; i++) sum += Math.Pow(pooled.ReadOnlySpan[(b * 3 + c) * 196 + i], 2);
            Assert.Equal(Math.Sqrt(sum / (20 * 196)), means[1][c], 5);
        }

        var scores = new ActivationAwareCriterion().Score(model, weights, data);
        var w2 = weights[1].Weight.Value.ReadOnlySpan.ToArray();
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < 3; c++)
                for (int k = 0; k < 9; k++)
                {
                    int i = (o * 3 + c) * 9 + k;
                    Assert.Equal(Math.Abs(w2[i]) * means[1][c], scores[1][i], 5);
                }
    }

    [Fact]
    public void Fisher_scores_are_squared_weights_times_summed_squared_batch_gradients_against_a_double_reference()
    {
        var model = PruningTestSupport.TrainedSmall();
        var fc1 = (Linear)model.Layers[1];
        var fc2 = (Linear)model.Layers[3];
        // A mask on fc1: its pruned weights are zero, so they score zero, and the gradient reaching the rest changes.
        var keep = new float[fc1.Weight.Count];
        var rng = new Random(5);
        for (int i = 0; i < keep.Length; i++) keep[i] = rng.NextDouble() < 0.7 ? 1 : 0;
        fc1.Weight.SetMask(new Tensor(keep, 64, 784));
        var before = model.Parameters.Select(p => p.Value.ReadOnlySpan.ToArray()).ToArray();
        // 37 images in batches of 8: the last batch holds 5.
        var data = PruningTestSupport.Mnist.Validation.Take(37);
        var weights = PrunableWeight.Of(model);
        var scores = new FisherCriterion(batchSize: 8).Score(model, weights, data);

        var w1 = fc1.Weight.Value.ReadOnlySpan.ToArray().Select(v => (double)v).ToArray();
        var b1 = fc1.Bias.Value.ReadOnlySpan.ToArray().Select(v => (double)v).ToArray();
        var w2 = fc2.Weight.Value.ReadOnlySpan.ToArray().Select(v => (double)v).ToArray();
        var b2 = fc2.Bias.Value.ReadOnlySpan.ToArray().Select(v => (double)v).ToArray();
        var f1 = new double[w1.Length];
        var f2 = new double[w2.Length];
        for (int start = 0; start < data.Count; start += 8)
        {
            var g1 = new double[w1.Length];
            var g2 = new double[w2.Length];
            for (int s = start; s < Math.Min(start + 8, data.Count); s++)
            {
                var x = data.Sample(s).ToArray();
                var h = new double[64];
                for (int o = 0; o < 64; o++)
                {
                    double a = b1[o];
                    for (int i = 0; i < 784; i++) a += w1[o * 784 + i] * x[i];
                    h[o] = Math.Max(0, a);
                }
                var z = new double[10];
                for (int c = 0; c < 10; c++)
                {
                    z[c] = b2[c];
                    for (int o = 0; o < 64; o++) z[c] += w2[c * 64 + o] * h[o];
                }
                double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
                var delta = z.Select(v => Math.Exp(v - max) / sum).ToArray();
                delta[data.Labels[s]] -= 1;
                var back = new double[64];
                for (int c = 0; c < 10; c++)
                    for (int o = 0; o < 64; o++)
                    {
                        g2[c * 64 + o] += delta[c] * h[o];
                        back[o] += w2[c * 64 + o] * delta[c];
                    }
                for (int o = 0; o < 64; o++)
                    if (h[o] > 0)
                        for (int i = 0; i < 784; i++) g1[o * 784 + i] += back[o] * x[i];
            }
            for (int i = 0; i < f1.Length; i++) f1[i] += g1[i] * g1[i];
            for (int i = 0; i < f2.Length; i++) f2[i] += g2[i] * g2[i];
        }
        void Check(double[] w, double[] f, float[] actual, string name)
        {
            double largest = Enumerable.Range(0, w.Length).Max(i => w[i] * w[i] * f[i] / data.Count);
            Assert.True(largest > 0, $"{name}: every reference score is zero.");
            for (int i = 0; i < w.Length; i++)
            {
                double expected = w[i] * w[i] * f[i] / data.Count;
                Assert.True(Math.Abs(actual[i] - expected) <= 1e-6 * largest + 1e-3 * Math.Abs(expected),
                    $"{name}[{i}]: {actual[i]} against {expected}.");
            }
        }
        Check(w1, f1, scores[0], "fc1.weight");
        Check(w2, f2, scores[1], "fc2.weight");
        for (int i = 0; i < keep.Length; i++)
            if (keep[i] == 0) Assert.Equal(0f, scores[0][i]);
        // Scoring runs the network forward and back but leaves its parameters as they were.
        for (int p = 0; p < before.Length; p++) Assert.Equal(before[p], model.Parameters[p].Value.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Fisher_refuses_a_batch_size_below_one() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new FisherCriterion(batchSize: 0));
}
