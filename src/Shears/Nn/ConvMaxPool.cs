using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// A model's first convolution and the 2×2, stride-2 max-pool after it, run as one stage of
/// <see cref="Sequential.ExecutionOrder"/> (<see cref="ConvolutionMaxPool"/>): the convolution's full-size output
/// and its gradient are never written. It runs the two declared layers' arithmetic on the convolution's own
/// parameters; only being first lets it skip the gradient with respect to its input, which it cannot give.
/// </summary>
internal sealed class ConvMaxPool : Layer
{
    private readonly Conv2d _conv;
    private readonly MaxPool2d _pool;
    private Tensor? _output;
    private Tensor? _input;
    private int[] _winners = [];
    /// <summary>The bias gradient's running double totals from one chunk of a batch to the next.</summary>
    private readonly double[] _biasTotals;

    private ConvMaxPool(Conv2d conv, MaxPool2d pool) : base(conv.Name + "+" + pool.Name)
    {
        _conv = conv;
        _pool = pool;
        _biasTotals = new double[conv.OutChannels];
    }

    /// <summary>The stage for a convolution followed by a max-pool, when the pair is one it computes (stride 1, a 2×2/2 window) on inputs of <paramref name="inputShape"/>; else null.</summary>
    public static ConvMaxPool? TryFuse(Layer first, Layer second, ReadOnlySpan<int> inputShape) =>
        first is Conv2d conv && second is MaxPool2d { Kernel: 2, Stride: 2 } pool && inputShape.Length == 3 && inputShape[0] == conv.InChannels
        && ConvolutionMaxPool.Supports(inputShape[1], inputShape[2], conv.Kernel, conv.Padding, conv.Stride)
            ? new ConvMaxPool(conv, pool)
            : null;

    public override IReadOnlyList<Parameter> Parameters => _conv.Parameters;

    public override int[] OutputShape(ReadOnlySpan<int> inputShape) => _pool.OutputShape(_conv.OutputShape(inputShape));

    internal override bool Chunkable => true;

    internal override bool Runs(Layer layer) => ReferenceEquals(layer, this) || ReferenceEquals(layer, _conv) || ReferenceEquals(layer, _pool);

    public override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 4) throw BadInput($"[batch, {_conv.InChannels}, H, W]", input.Shape);
        var shape = OutputShape(input.Shape[1..]);
        int batch = input.Dim(0);
        var y = Tensor.Reuse(ref _output, batch, shape[0], shape[1], shape[2]);
        if (_winners.Length < y.Length) _winners = new int[y.Length];
        ConvolutionMaxPool.Forward(input.ReadOnlySpan, _conv.Weight.Value.ReadOnlySpan, _conv.Bias.Value.ReadOnlySpan, y.Span, _winners,
            batch, _conv.InChannels, input.Dim(2), input.Dim(3), _conv.OutChannels, _conv.Kernel, _conv.Padding);
        _input = training ? input : null;
        return y;
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient) =>
        Backward(outputGradient, needInputGradient, BatchChunk.Whole(_input?.Dim(0) ?? 0));

    internal override Tensor? Backward(Tensor outputGradient, bool needInputGradient, BatchChunk chunk)
    {
        var x = _input ?? throw BackwardWithoutForward();
        if (needInputGradient) throw new NotSupportedException($"Stage '{Name}' runs first and gives no gradient with respect to its input.");
        ConvolutionMaxPool.WeightGradient(x.ReadOnlySpan, _winners, outputGradient.ReadOnlySpan, _conv.Weight.Gradient.Span, _conv.Bias.Gradient.Span,
            x.Dim(0), _conv.InChannels, x.Dim(2), x.Dim(3), _conv.OutChannels, _conv.Kernel, _conv.Padding, _biasTotals, continuing: !chunk.IsFirst);
        return null;
    }
}
