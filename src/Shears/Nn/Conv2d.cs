using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// 2-D convolution over NCHW input with a square kernel, W stored [out, in, k, k] as ONNX Conv does.
/// The arithmetic is <see cref="Convolution"/>'s: image by image im2col and GEMM, groups of images in parallel,
/// or only the kept taps once pruning has made the filter sparse (the mask tells the weight gradient which
/// entries matter).
/// </summary>
public sealed class Conv2d : Layer
{
    private Tensor? _input;
    private Tensor? _output;
    private Tensor? _inputGradient;
    /// <summary>The bias gradient's running double totals from one chunk of a batch to the next (see <see cref="Convolution.WeightGradient"/>).</summary>
    private readonly double[] _biasTotals;

    public Conv2d(string name, int inChannels, int outChannels, int kernel, int padding = 0, int stride = 1) : base(name)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || padding < 0 || stride <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernel), $"Conv2d '{name}': bad geometry in={inChannels} out={outChannels} k={kernel} pad={padding} stride={stride}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        Padding = padding;
        Stride = stride;
        Weight = new Parameter(name + ".weight", new Tensor(outChannels, inChannels, kernel, kernel), prunable: true);
        Bias = new Parameter(name + ".bias", new Tensor(outChannels), prunable: false);
        _biasTotals = new double[outChannels];
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Kernel { get; }
    public int Padding { get; }
    public int Stride { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public override IReadOnlyList<Parameter> Parameters => [Weight, Bias];

    public override int[] OutputShape(ReadOnlySpan<int> inputShape)
    {
        if (inputShape.Length != 3 || inputShape[0] != InChannels) throw BadInput($"[{InChannels}, H, W]", inputShape);
        // Checked before dividing: (size + 2p − k) / stride truncates toward zero, so a kernel that overhangs the
        // padded image by less than a stride would otherwise yield one output row.
        if (inputShape[1] + 2 * Padding < Kernel || inputShape[2] + 2 * Padding < Kernel) throw BadInput($"[{InChannels}, H, W] large enough for a {Kernel}×{Kernel} kernel", inputShape);
        int oh = Im2Col.OutputSize(inputShape[1], Kernel, Padding, Stride);
        int ow = Im2Col.OutputSize(inputShape[2], Kernel, Padding, Stride);
        if (oh <= 0 || ow <= 0) throw BadInput($"[{InChannels}, H, W] large enough for a {Kernel}×{Kernel} kernel", inputShape);
        return [OutChannels, oh, ow];
    }

    public override Layer? Blank() => new Conv2d(Name, InChannels, OutChannels, Kernel, Padding, Stride);

    internal override bool Chunkable => true;

    public override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 4) throw BadInput($"[batch, {InChannels}, H, W]", input.Shape);
        var outShape = OutputShape(input.Shape[1..]);
        int batch = input.Dim(0);
        var y = Tensor.Reuse(ref _output, batch, OutChannels, outShape[1], outShape[2]);
        Convolution.Forward(input.ReadOnlySpan, Weight.Value.ReadOnlySpan, Bias.Value.ReadOnlySpan, y.Span,
            batch, InChannels, input.Dim(2), input.Dim(3), OutChannels, Kernel, Padding, Stride);
        _input = training ? input : null;
        return y;
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient) =>
        Backward(outputGradient, needInputGradient, BatchChunk.Whole(_input?.Dim(0) ?? 0));

    /// <summary>A later chunk of a batch adds its groups' weight-gradient partials to what the chunks before it left (<see cref="Convolution.WeightGradient"/>).</summary>
    internal override Tensor? Backward(Tensor outputGradient, bool needInputGradient, BatchChunk chunk)
    {
        var x = _input ?? throw BackwardWithoutForward();
        int batch = x.Dim(0), h = x.Dim(2), w = x.Dim(3);
        Convolution.WeightGradient(x.ReadOnlySpan, outputGradient.ReadOnlySpan, Weight.Gradient.Span, Bias.Gradient.Span,
            batch, InChannels, h, w, OutChannels, Kernel, Padding, Stride, Weight.Mask is { } mask ? mask.ReadOnlySpan : default,
            _biasTotals, continuing: !chunk.IsFirst);
        if (!needInputGradient) return null;
        var dx = Tensor.Reuse(ref _inputGradient, x.Shape.ToArray());
        Convolution.InputGradient(outputGradient.ReadOnlySpan, Weight.Value.ReadOnlySpan, dx.Span,
            batch, InChannels, h, w, OutChannels, Kernel, Padding, Stride);
        return dx;
    }
}
