using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// One stage of a <see cref="Sequential"/> model. Tensors carry the batch as their first axis.
/// A layer owns the tensors it returns (reused workspaces): a returned tensor stays valid until the
/// layer's next Forward (for outputs) or Backward (for input gradients).
/// </summary>
public abstract class Layer
{
    protected Layer(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    public string Name { get; }

    public virtual IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The per-sample output shape for a per-sample input shape; throws when the input does not fit.</summary>
    public abstract int[] OutputShape(ReadOnlySpan<int> inputShape);

    /// <summary>Computes the output; when <paramref name="training"/> is set, keeps what Backward needs.</summary>
    public abstract Tensor Forward(Tensor input, bool training);

    /// <summary>
    /// Writes parameter gradients (overwriting them) from the gradient of the loss with respect to the last
    /// training Forward's output, and returns the gradient with respect to its input, or null when
    /// <paramref name="needInputGradient"/> is false (the first layer skips that work).
    /// </summary>
    public abstract Tensor? Backward(Tensor outputGradient, bool needInputGradient);

    /// <summary>
    /// A new layer of the same kind, name and geometry, with parameters of its own (zero, unmasked); null for a
    /// layer that cannot say how to make one (<see cref="Sequential.TryCopy"/> then gives none).
    /// </summary>
    public virtual Layer? Blank() => null;

    /// <summary>
    /// Whether <see cref="Sequential.TrainingStep"/> may run a batch through this layer in chunks of whole convolution
    /// groups (<see cref="Convolution.GroupSize"/> samples; the last may be short), each chunk forward and backward
    /// before the next, with the same outputs and gradients, to the bit, as one pass over the whole batch. True for
    /// layers that treat each sample on its own and override <see cref="Backward(Tensor, bool, BatchChunk)"/> so that
    /// their parameter gradients come out as a whole-batch Backward would write them.
    /// </summary>
    internal virtual bool Chunkable => false;

    /// <summary>
    /// <see cref="Backward(Tensor, bool)"/> for one chunk of a batch, just after its training Forward. A layer with
    /// parameters either adds the chunk to what the chunks before it left, in the order one Backward over the whole
    /// batch would add it, or keeps what it needs and writes its gradients in <see cref="FinishChunks"/>.
    /// </summary>
    internal virtual Tensor? Backward(Tensor outputGradient, bool needInputGradient, BatchChunk chunk)
    {
        if (Parameters.Count > 0 && chunk.Count != chunk.Batch) throw new NotSupportedException($"Layer '{Name}' cannot run a batch in chunks.");
        return Backward(outputGradient, needInputGradient);
    }

    /// <summary>Whether running this stage of <see cref="Sequential.ExecutionOrder"/> runs <paramref name="layer"/>: it is the layer, or a stage that computes it together with its neighbour (<see cref="ConvMaxPool"/>).</summary>
    internal virtual bool Runs(Layer layer) => ReferenceEquals(layer, this);

    /// <summary>After the last chunk's Backward: writes what parameter gradients the layer held back until the whole batch was in.</summary>
    internal virtual void FinishChunks() { }

    protected static int[] BatchShape(int batch, ReadOnlySpan<int> sampleShape)
    {
        var s = new int[sampleShape.Length + 1];
        s[0] = batch;
        sampleShape.CopyTo(s.AsSpan(1));
        return s;
    }

    protected InvalidOperationException BackwardWithoutForward() =>
        new($"Layer '{Name}': Backward called without a training Forward before it.");

    protected ArgumentException BadInput(string expected, ReadOnlySpan<int> got) =>
        new($"Layer '{Name}' expects input {expected} but got [{string.Join(", ", got.ToArray())}].");
}
