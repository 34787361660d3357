using System.Numerics;
using System.Numerics.Tensors;
using Shears.Tensors;

namespace Shears.Nn;

public sealed class Relu : Layer
{
    private Tensor? _output;
    private Tensor? _inputGradient;
    private bool _haveOutput;

    public Relu(string name) : base(name) { }

    public override Layer? Blank() => new Relu(Name);

    internal override bool Chunkable => true;

    public override int[] OutputShape(ReadOnlySpan<int> inputShape) => inputShape.ToArray();

    public override Tensor Forward(Tensor input, bool training)
    {
        var y = Tensor.Reuse(ref _output, input.Shape.ToArray());
        var x = input.Data;
        var yd = y.Data;
        ParallelRange.For(input.Length, 1 << 16, (s, e) => TensorPrimitives.Max(x.AsSpan(s, e - s), 0f, yd.AsSpan(s, e - s)));
        _haveOutput = training;
        return y;
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient)
    {
        if (!_haveOutput || _output is null) throw BackwardWithoutForward();
        if (!needInputGradient) return null;
        var dx = Tensor.Reuse(ref _inputGradient, outputGradient.Shape.ToArray());
        var y = _output.Data;
        var dy = outputGradient.Data;
        var d = dx.Data;
        ParallelRange.For(dx.Length, 1 << 16, (s, e) => BackwardFunctional(y.AsSpan(s, e - s), dy.AsSpan(s, e - s), d.AsSpan(s, e - s)));
        return dx;
    }

    /// <summary>dx = dy where the output was positive, else 0 (the output is positive exactly where the input was).</summary>
    public static void BackwardFunctional(ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        int n = output.Length;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            for (; i <= n - w; i += w)
            {
                var y = new Vector<float>(output.Slice(i));
                var g = new Vector<float>(outputGradient.Slice(i));
                Vector.ConditionalSelect(Vector.GreaterThan(y, Vector<float>.Zero), g, Vector<float>.Zero).CopyTo(inputGradient.Slice(i));
            }
        }
        for (; i < n; i++) inputGradient[i] = output[i] > 0f ? outputGradient[i] : 0f;
    }
}
