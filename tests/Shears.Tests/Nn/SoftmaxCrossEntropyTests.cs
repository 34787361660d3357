using Shears.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class SoftmaxCrossEntropyTests
{
    /// <summary>Mean over rows of log Σⱼ exp(zⱼ) − z[label], computed stably in double.</summary>
    internal static double Reference(double[] logits, int[] labels, int classes)
    {
        double total = 0;
        for (int r = 0; r < labels.Length; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++) max = Math.Max(max, logits[r * classes + c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(logits[r * classes + c] - max);
            total += max + Math.Log(sum) - logits[r * classes + labels[r]];
        }
        return total / labels.Length;
    }

    [Theory]
    [InlineData(5, 19, 1.0)]
    [InlineData(3, 10, 5.0)]
    [InlineData(1, 2, 1.0)]
    [InlineData(4, 37, 0.1)]
    public void SoftmaxCrossEntropy_loss_matches_reference_and_gradient_matches_finite_differences(int batch, int classes, double scale)
    {
        var rng = new Random(batch * 100 + classes);
        var logits = RandomFloats(rng, batch * classes, scale);
        var labels = Enumerable.Range(0, batch).Select(_ => rng.Next(classes)).ToArray();
        var loss = new SoftmaxCrossEntropy();
        // Warm-up with a larger batch: the reused gradient buffer must not leak into the checked call.
        loss.Compute(new Tensor(RandomFloats(rng, (batch + 2) * classes), batch + 2, classes), new int[batch + 2]);

        var (value, gradient) = loss.Compute(new Tensor((float[])logits.Clone(), batch, classes), labels);
        var z = ToDouble(logits);
        AssertClose(Reference(z, labels, classes), value, "loss", 1e-5, 1e-5);
        Assert.Equal([batch, classes], gradient.Shape.ToArray());
        AssertAllClose(CentralDifferences(z, () => Reference(z, labels, classes)), gradient.ReadOnlySpan, "dLoss/dlogits", 1e-5, 1e-3);
    }

    [Fact]
    public void SoftmaxCrossEntropy_is_stable_for_huge_logits()
    {
        var loss = new SoftmaxCrossEntropy();
        float[] logits = [1000f, 990f, -1000f, -3000f, -3010f, -3020f];
        var (value, gradient) = loss.Compute(new Tensor(logits, 2, 3), [1, 0]);
        double expected = Reference(ToDouble(logits), [1, 0], 3);
        AssertClose(expected, value, "loss", 1e-5, 1e-6);
        Assert.True(double.IsFinite(value));
        Assert.All(gradient.ReadOnlySpan.ToArray(), g => Assert.True(float.IsFinite(g)));
    }

    [Fact]
    public void SoftmaxCrossEntropy_of_uniform_logits_is_log_of_class_count()
    {
        var (value, gradient) = new SoftmaxCrossEntropy().Compute(new Tensor(2, 4), [3, 0]);
        AssertClose(Math.Log(4), value, "loss", 1e-7, 1e-7);
        // (softmax − onehot) / batch
        Assert.Equal([0.125f, 0.125f, 0.125f, -0.375f, -0.375f, 0.125f, 0.125f, 0.125f], gradient.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void SoftmaxCrossEntropy_row_loss_without_gradient_agrees_with_the_one_with()
    {
        var rng = new Random(2);
        var z = RandomFloats(rng, 19, 3);
        var probabilities = new float[19];
        double withGradient = SoftmaxCrossEntropy.RowLoss(z, 4, probabilities);
        AssertClose(withGradient, SoftmaxCrossEntropy.RowLoss(z, 4), "row loss", 1e-6, 1e-6);
        AssertClose(Reference(ToDouble(z), [4], 19), withGradient, "row loss", 1e-6, 1e-6);
        AssertClose(1.0, probabilities.Select(p => (double)p).Sum(), "Σ softmax", 1e-6, 0);
    }

    [Fact]
    public void SoftmaxCrossEntropy_rejects_a_label_count_that_differs_from_the_batch()
    {
        Assert.Throws<ArgumentException>(() => new SoftmaxCrossEntropy().Compute(new Tensor(3, 4), [0, 1]));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(-1)]
    public void SoftmaxCrossEntropy_rejects_a_label_outside_the_classes(int label)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxCrossEntropy().Compute(new Tensor(2, 4), [0, label]));
    }
}
