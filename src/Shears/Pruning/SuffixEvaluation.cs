using Shears.Data;
using Shears.Nn;
using Shears.Tensors;
using Shears.Training;

namespace Shears.Pruning;

/// <summary>
/// A model's accuracy on a fixed set of images while only one layer and those after it change, as in a sensitivity
/// sweep of that layer: what enters the layer is computed once, and each evaluation runs from there on. For CNN-3's
/// last layer that skips both convolutions; for its second convolution, the first one and its pooling. Each sample's
/// outputs do not depend on which others share its pass, so the accuracy is the same as
/// <see cref="Evaluator.Evaluate"/>'s, to the bit.
/// </summary>
internal sealed class SuffixEvaluation
{
    private readonly Sequential _model;
    private readonly int _first, _passSize, _sampleLength;
    private readonly int[] _sampleShape;
    private readonly float[] _entering;
    private readonly int[] _labels;
    private Tensor? _pass;

    /// <summary>Runs <paramref name="data"/> up to <paramref name="layer"/> (which must be one of <paramref name="model"/>'s) and keeps what enters it.</summary>
    public SuffixEvaluation(Sequential model, Layer layer, Dataset data, int batchSize, CancellationToken ct = default)
    {
        _model = model;
        _first = -1;
        for (int i = 0; i < model.ExecutionOrder.Count; i++) if (model.ExecutionOrder[i].Runs(layer)) _first = i;
        if (_first < 0) throw new ArgumentException($"Layer '{layer.Name}' is not one of model '{model.Name}''s.", nameof(layer));
        _sampleShape = model.ShapeEntering(_first);
        _sampleLength = (int)Tensor.Product(_sampleShape);
        _passSize = model.InferencePassSize(batchSize);
        _entering = new float[checked(data.Count * _sampleLength)];
        _labels = new int[data.Count];
        foreach (var (start, count, x, labels) in data.InOrder(_passSize, model.InputShape, ct))
        {
            var y = model.ForwardThrough(0, _first, x, training: false);
            y.ReadOnlySpan[..(count * _sampleLength)].CopyTo(_entering.AsSpan(start * _sampleLength));
            labels.AsSpan(0, count).CopyTo(_labels.AsSpan(start));
        }
    }

    public int Count => _labels.Length;

    /// <summary>The model's accuracy on the images as it stands now (only the layer and those after it may have changed since construction).</summary>
    public double Accuracy(CancellationToken ct = default)
    {
        if (Count == 0) return 0;
        int classes = _model.ClassCount, right = 0;
        for (int start = 0; start < Count; start += _passSize)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(_passSize, Count - start);
            var x = Tensor.Reuse(ref _pass, [count, .. _sampleShape]);
            _entering.AsSpan(start * _sampleLength, count * _sampleLength).CopyTo(x.Span);
            var logits = _model.ForwardFrom(_first, x, training: false);
            for (int i = 0; i < count; i++)
                if (Evaluator.ArgMax(logits.ReadOnlySpan.Slice(i * classes, classes)) == _labels[start + i]) right++;
        }
        return (double)right / Count;
    }
}
