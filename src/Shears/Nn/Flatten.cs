using Shears.Tensors;

namespace Shears.Nn;

/// <summary>Collapses every axis after the batch into one; a view, no copy.</summary>
public sealed class Flatten : Layer
{
    private int[]? _inputShape;

    public Flatten(string name) : base(name) { }

    public override Layer? Blank() => new Flatten(Name);

    internal override bool Chunkable => true;

    public override int[] OutputShape(ReadOnlySpan<int> inputShape) => [Tensor.Product(inputShape)];

    public override Tensor Forward(Tensor input, bool training)
    {
        _inputShape = training ? input.Shape.ToArray() : null;
        return input.Reshape(input.Dim(0), Tensor.Product(input.Shape[1..]));
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient)
    {
        var shape = _inputShape ?? throw BackwardWithoutForward();
        return needInputGradient ? outputGradient.Reshape(shape) : null;
    }
}
