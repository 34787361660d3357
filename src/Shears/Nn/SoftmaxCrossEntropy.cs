using System.Numerics.Tensors;
using Shears.Tensors;

namespace Shears.Nn;

/// <summary>Mean softmax cross-entropy over a batch of logits, and its gradient with respect to the logits.</summary>
public sealed class SoftmaxCrossEntropy
{
    private Tensor? _gradient;

    /// <summary>Returns the mean loss and the gradient dL/dlogits = (softmax − onehot) / batch (owned by this object).</summary>
    public (double Loss, Tensor Gradient) Compute(Tensor logits, ReadOnlySpan<int> labels)
    {
        int batch = logits.Dim(0);
        var grad = Tensor.Reuse(ref _gradient, batch, logits.Dim(1));
        return (AddRows(logits, labels, batch, grad.Span, 0) / batch, grad);
    }

    /// <summary>
    /// Some rows of a batch of <paramref name="batch"/>: writes their gradient (softmax − onehot) / batch and returns
    /// <paramref name="lossSum"/> plus their losses, added row by row (so a batch scored in chunks sums as one scored whole).
    /// </summary>
    public static double AddRows(Tensor logits, ReadOnlySpan<int> labels, int batch, Span<float> gradient, double lossSum)
    {
        int rows = logits.Dim(0), classes = logits.Dim(1);
        if (labels.Length != rows) throw new ArgumentException($"{labels.Length} labels for {rows} rows of logits.");
        if (gradient.Length < rows * classes) throw new ArgumentException($"The gradient holds {gradient.Length} values, fewer than {rows} rows of {classes}.");
        float scale = 1f / batch;
        for (int r = 0; r < rows; r++)
        {
            var z = logits.ReadOnlySpan.Slice(r * classes, classes);
            var g = gradient.Slice(r * classes, classes);
            int label = labels[r];
            if ((uint)label >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(labels), $"Label {label} is outside the {classes} classes.");
            lossSum += RowLoss(z, label, g);
            TensorPrimitives.Multiply(g, scale, g);
            g[label] -= scale;
        }
        return lossSum;
    }

    /// <summary>Loss of one row; writes softmax(z) into <paramref name="probabilities"/>.</summary>
    public static double RowLoss(ReadOnlySpan<float> z, int label, Span<float> probabilities)
    {
        float max = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, max, probabilities);
        TensorPrimitives.Exp(probabilities, probabilities);
        double sum = TensorPrimitives.Sum(probabilities);
        double logSumExp = Math.Log(sum);
        TensorPrimitives.Multiply(probabilities, (float)(1.0 / sum), probabilities);
        return logSumExp - (z[label] - max);
    }

    /// <summary>The loss alone, without a gradient buffer (evaluation).</summary>
    public static double RowLoss(ReadOnlySpan<float> z, int label)
    {
        float max = TensorPrimitives.Max(z);
        double sum = 0;
        foreach (float v in z) sum += Math.Exp(v - max);
        return Math.Log(sum) - (z[label] - max);
    }
}
