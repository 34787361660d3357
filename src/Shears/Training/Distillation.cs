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
    private readonly SoftmaxCrossEntropy _hard = new();
    private float[] _soft = [];

    public Distillation Distillation { get; } = distillation;

    /// <summary>
    /// Mean loss over the batch and dL/dlogits (owned by this object). <paramref name="samples"/> are the rows'
    /// indices in the training set, which pick their teacher targets.
    /// </summary>
    public (double Loss, Tensor Gradient) Compute(Tensor logits, ReadOnlySpan<int> labels, ReadOnlySpan<int> samples)
    {
        int batch = logits.Dim(0), classes = logits.Dim(1);
        if (classes != Distillation.Classes)
            throw new ArgumentException($"The teacher predicts {Distillation.Classes} classes but the student {classes}.");
        if (samples.Length != batch) throw new ArgumentException($"{samples.Length} sample indices for a batch of {batch} logits.");
        var (hardLoss, grad) = _hard.Compute(logits, labels);
        float alpha = Distillation.Weight, t = Distillation.Temperature;
        // The hard gradient is (p − onehot)/B; scale it by (1 − α) and add α·T·(p_T − q)/B.
        TensorPrimitives.Multiply(grad.Span, 1 - alpha, grad.Span);
        if (_soft.Length < classes) _soft = new float[classes];
        var soft = _soft.AsSpan(0, classes);
        float scale = alpha * t / batch;
        double softLoss = 0;
        for (int r = 0; r < batch; r++)
        {
            int sample = samples[r];
            if ((uint)sample >= (uint)Distillation.Count)
                throw new ArgumentOutOfRangeException(nameof(samples), sample, $"Sample {sample} has no teacher target (there are {Distillation.Count}).");
            var z = logits.ReadOnlySpan.Slice(r * classes, classes);
            var q = Distillation.Targets.ReadOnlySpan.Slice(sample * classes, classes);
            Distillation.SoftmaxAt(z, t, soft);
            var g = grad.Span.Slice(r * classes, classes);
            for (int c = 0; c < classes; c++)
            {
                g[c] += scale * (soft[c] - q[c]);
                if (q[c] > 0) softLoss += q[c] * (Math.Log(q[c]) - Math.Log(Math.Max(soft[c], 1e-30f)));
            }
        }
        return ((1 - alpha) * hardLoss + alpha * t * t * softLoss / batch, grad);
    }
}
