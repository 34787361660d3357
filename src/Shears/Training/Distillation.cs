using System.Numerics.Tensors;
using Shears.Data;
using Shears.Nn;

namespace Shears.Training;

/// <summary>
/// Knowledge distillation (Hinton et al. 2015) for re-learning: the student is trained towards the teacher's
/// softened class probabilities as well as the labels. The loss of a row is
/// (1 − α)·CE(label, softmax(z)) + α·T²·KL(q ‖ softmax(z/T)), q the teacher's softmax at temperature T; the T²
/// keeps the soft term's gradient, α·T·(softmax(z/T) − q), on the scale of the hard term's.
/// A pruned network re-learned towards its own dense original keeps the original's "dark knowledge" (how alike
/// the classes look), which labels alone do not carry; it also regularises a long re-learning that would
/// otherwise overfit the training images.
/// </summary>
public sealed class Distillation
{
    /// <param name="targets">The teacher's probabilities at <paramref name="temperature"/>, one row per training sample, in the dataset's order.</param>
    public Distillation(Tensor targets, float temperature, float weight)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Rank != 2) throw new ArgumentException($"Distillation targets must be [samples, classes], not {targets}.", nameof(targets));
        if (!(temperature >= 1 && temperature <= 100)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The distillation temperature must be in [1, 100].");
        if (!(weight > 0 && weight <= 1)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "The distillation weight must be in (0, 1].");
        Targets = targets;
        Temperature = temperature;
        Weight = weight;
    }

    /// <summary>[samples, classes]: the teacher's softened probabilities of each training sample.</summary>
    public Tensor Targets { get; }
    public float Temperature { get; }
    /// <summary>α: the soft term's share of the loss.</summary>
    public float Weight { get; }
    public int Count => Targets.Dim(0);
    public int Classes => Targets.Dim(1);

    /// <summary>
    /// Runs <paramref name="teacher"/> over <paramref name="data"/> (inference, in passes of at most
    /// <paramref name="batchSize"/>, fewer where its activations would spill out of cache) and keeps its softened probabilities.
    /// </summary>
    public static Distillation FromTeacher(Sequential teacher, Dataset data, float temperature, float weight, int batchSize = 1000, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(data);
        int classes = teacher.ClassCount;
        var targets = new Tensor(data.Count, classes);
        foreach (var (start, count, x, _) in data.InOrder(teacher.InferencePassSize(batchSize), teacher.InputShape, ct))
        {
            var logits = teacher.Forward(x, training: false);
            for (int i = 0; i < count; i++)
                SoftmaxAt(logits.ReadOnlySpan.Slice(i * classes, classes), temperature, targets.Span.Slice((start + i) * classes, classes));
        }
        return new Distillation(targets, temperature, weight);
    }

    /// <summary>softmax(z / T), computed stably.</summary>
    public static void SoftmaxAt(ReadOnlySpan<float> z, float temperature, Span<float> probabilities)
    {
        float max = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, max, probabilities);
        TensorPrimitives.Multiply(probabilities, 1f / temperature, probabilities);
        TensorPrimitives.Exp(probabilities, probabilities);
        float sum = TensorPrimitives.Sum(probabilities);
        TensorPrimitives.Multiply(probabilities, 1f / sum, probabilities);
    }
}

/// <summary>The distillation loss over a batch and its gradient with respect to the logits (see <see cref="Distillation"/>).</summary>
public sealed class DistillationLoss(Distillation distillation)
{
    private Tensor? _gradient;
    private float[] _soft = [];

    public Distillation Distillation { get; } = distillation;

    /// <summary>
    /// Mean loss over the batch and dL/dlogits (owned by this object). <paramref name="samples"/> are the rows'
    /// indices in the training set, which pick their teacher targets.
    /// </summary>
    public (double Loss, Tensor Gradient) Compute(Tensor logits, ReadOnlySpan<int> labels, ReadOnlySpan<int> samples)
    {
        int batch = logits.Dim(0);
        var grad = Tensor.Reuse(ref _gradient, batch, logits.Dim(1));
        double hard = 0, soft = 0;
        AddRows(logits, labels, samples, batch, grad.Span, ref hard, ref soft);
        return (Mean(hard, soft, batch), grad);
    }

    /// <summary>
    /// Some rows of a batch of <paramref name="batch"/>: writes their gradient and adds their hard (label) and soft
    /// (teacher) losses to the running sums, row by row, so a batch scored in chunks sums as one scored whole.
    /// </summary>
    public void AddRows(Tensor logits, ReadOnlySpan<int> labels, ReadOnlySpan<int> samples, int batch, Span<float> gradient, ref double hardSum, ref double softSum)
    {
        int rows = logits.Dim(0), classes = logits.Dim(1);
        if (classes != Distillation.Classes)
            throw new ArgumentException($"The teacher predicts {Distillation.Classes} classes but the student {classes}.");
        if (samples.Length != rows) throw new ArgumentException($"{samples.Length} sample indices for {rows} rows of logits.");
        hardSum = SoftmaxCrossEntropy.AddRows(logits, labels, batch, gradient, hardSum);
        float alpha = Distillation.Weight, t = Distillation.Temperature;
        // The hard gradient is (p − onehot)/B; scale it by (1 − α) and add α·T·(p_T − q)/B.
        var grad = gradient[..(rows * classes)];
        TensorPrimitives.Multiply(grad, 1 - alpha, grad);
        if (_soft.Length < classes) _soft = new float[classes];
        var soft = _soft.AsSpan(0, classes);
        float scale = alpha * t / batch;
        for (int r = 0; r < rows; r++)
        {
            int sample = samples[r];
            if ((uint)sample >= (uint)Distillation.Count)
                throw new ArgumentOutOfRangeException(nameof(samples), sample, $"Sample {sample} has no teacher target (there are {Distillation.Count}).");
            var z = logits.ReadOnlySpan.Slice(r * classes, classes);
            var q = Distillation.Targets.ReadOnlySpan.Slice(sample * classes, classes);
            Distillation.SoftmaxAt(z, t, soft);
            var g = grad.Slice(r * classes, classes);
            for (int c = 0; c < classes; c++)
            {
                g[c] += scale * (soft[c] - q[c]);
                if (q[c] > 0) softSum += q[c] * (Math.Log(q[c]) - Math.Log(Math.Max(soft[c], 1e-30f)));
            }
        }
    }

    /// <summary>The batch's mean loss from the sums <see cref="AddRows"/> left.</summary>
    public double Mean(double hardSum, double softSum, int batch)
    {
        float alpha = Distillation.Weight, t = Distillation.Temperature;
        return (1 - alpha) * (hardSum / batch) + alpha * t * t * softSum / batch;
    }
}
