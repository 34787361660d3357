using Shears.Nn;
using Shears.Tensors;

namespace Shears.Training;

/// <summary>
/// A training step's loss, scored chunk by chunk as <see cref="Sequential.TrainingStep"/> asks: cross-entropy on
/// the batch's <c>labels</c> (from index 0), or the distillation loss, whose teacher targets the rows' places in the
/// epoch's <c>order</c> pick (from <see cref="BatchStart"/>).
/// </summary>
internal sealed class TrainingLoss(int[] labels, int[] order, int classes, DistillationLoss? distilled) : ChunkedLoss
{
    private Tensor? _gradient;
    private double _hard, _soft;
    private int _batch;

    /// <summary>Where the batch starts in the epoch's order (its labels start at 0).</summary>
    public int BatchStart { get; set; }

    public override Tensor Rows(Tensor logits, BatchChunk chunk)
    {
        if (chunk.IsFirst) (_hard, _soft) = (0, 0);
        _batch = chunk.Batch;
        var gradient = Tensor.Reuse(ref _gradient, chunk.Count, classes);
        var rowLabels = labels.AsSpan(chunk.Start, chunk.Count);
        if (distilled is null)
            _hard = SoftmaxCrossEntropy.AddRows(logits, rowLabels, chunk.Batch, gradient.Span, _hard);
        else
            distilled.AddRows(logits, rowLabels, order.AsSpan(BatchStart + chunk.Start, chunk.Count), chunk.Batch, gradient.Span, ref _hard, ref _soft);
        return gradient;
    }

    public override double Mean => distilled is null ? _hard / _batch : distilled.Mean(_hard, _soft, _batch);
}
