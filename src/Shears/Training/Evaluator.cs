using Shears.Data;
using Shears.Nn;

namespace Shears.Training;

public sealed record EvaluationResult(int Count, int Correct, double Loss, int[,] ConfusionMatrix)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>Inference over a dataset in batches: accuracy, mean loss and the confusion matrix (rows: true class, columns: predicted).</summary>
public static class Evaluator
{
    /// <param name="batchSize">The most samples per forward pass; a model whose activations would spill out of cache runs in
    /// passes of its <see cref="Sequential.InferenceBatchSize"/> instead. Results do not depend on it.</param>
    /// <param name="correct">When given (one entry per sample), receives whether each sample was classified correctly: what a paired comparison of two networks needs.</param>
    public static EvaluationResult Evaluate(Sequential model, Dataset data, int batchSize = 1000, CancellationToken cancellation = default, Span<bool> correct = default)
    {
        if (!correct.IsEmpty && correct.Length != data.Count)
            throw new ArgumentException($"The correctness buffer holds {correct.Length} entries but '{data.Name}' has {data.Count} samples.", nameof(correct));
        int classes = model.ClassCount;
        var confusion = new int[Math.Max(classes, data.ClassCount), classes];
        int right = 0;
        double loss = 0;
        int seen = 0;
        foreach (var (_, count, x, labels) in data.InOrder(model.InferencePassSize(batchSize), model.InputShape, cancellation))
        {
            var logits = model.Forward(x, training: false);
            for (int i = 0; i < count; i++)
            {
                var row = logits.ReadOnlySpan.Slice(i * classes, classes);
                int predicted = ArgMax(row);
                confusion[labels[i], predicted]++;
                if (predicted == labels[i]) right++;
                if (!correct.IsEmpty) correct[seen + i] = predicted == labels[i];
                loss += labels[i] < classes ? SoftmaxCrossEntropy.RowLoss(row, labels[i]) : double.PositiveInfinity;
            }
            seen += count;
        }
        return new EvaluationResult(data.Count, right, data.Count == 0 ? 0 : loss / data.Count, confusion);
    }

    /// <summary>Index of the largest value; the first one on ties (as argmax in NumPy and PyTorch).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
