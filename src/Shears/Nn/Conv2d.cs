using System.Numerics.Tensors;
using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// 2-D convolution over NCHW input with a square kernel, W stored [out, in, k, k] as ONNX Conv does.
/// The whole batch goes through one im2col and one large GEMM: Y[out × batch·HW] = W[out × in·k·k] · cols,
/// which keeps the GEMM big enough to run both cores at full speed.
/// </summary>
public sealed class Conv2d : Layer
{
    private Tensor? _input;
    private Tensor? _columns;        // [in·k·k, batch·outH·outW]
    private Tensor? _channelsMajor;  // [out, batch·outH·outW]
    private Tensor? _output;
    private Tensor? _inputGradient;
    private bool _haveColumns;

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
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Kernel { get; }
    public int Padding { get; }
    public int Stride { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public override IReadOnlyList<Parameter> Parameters => [Weight, Bias];

    private int Taps => InChannels * Kernel * Kernel;

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

    public override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 4) throw BadInput($"[batch, {InChannels}, H, W]", input.Shape);
        var outShape = OutputShape(input.Shape[1..]);
        int batch = input.Dim(0), h = input.Dim(2), w = input.Dim(3);
        int spatial = outShape[1] * outShape[2];
        int columnsWide = batch * spatial;

        var cols = Tensor.Reuse(ref _columns, Taps, columnsWide);
        Im2Col.Forward(input.ReadOnlySpan, batch, InChannels, h, w, Kernel, Padding, Stride, cols.Span);
        var ycm = Tensor.Reuse(ref _channelsMajor, OutChannels, columnsWide);
        Gemm.Multiply(Transpose.No, Transpose.No, OutChannels, columnsWide, Taps, Weight.Value.ReadOnlySpan, Taps, cols.ReadOnlySpan, columnsWide, ycm.Span, columnsWide);
        var bias = Bias.Value.Data;
        var ycmData = ycm.Data;
        ParallelRange.For(OutChannels, 1, (s, e) =>
        {
            for (int c = s; c < e; c++)
            {
                var row = ycmData.AsSpan(c * columnsWide, columnsWide);
                TensorPrimitives.Add(row, bias[c], row);
            }
        });
        var y = Tensor.Reuse(ref _output, batch, OutChannels, outShape[1], outShape[2]);
        Layout.ChannelsMajorToBatchMajor(ycm.ReadOnlySpan, OutChannels, batch, spatial, y.Span);
        _input = training ? input : null;
        _haveColumns = training;
        return y;
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient)
    {
        var x = _input ?? throw BackwardWithoutForward();
        if (!_haveColumns || _columns is null || _channelsMajor is null) throw BackwardWithoutForward();
        int batch = x.Dim(0);
        int spatial = outputGradient.Dim(2) * outputGradient.Dim(3);
        int columnsWide = batch * spatial;

        // The forward's channels-major buffer is free now: reuse it for dY in the same layout.
        var dycm = _channelsMajor;
        Layout.BatchMajorToChannelsMajor(outputGradient.ReadOnlySpan, batch, OutChannels, spatial, dycm.Span);
        // dW[out × taps] = dY · colsᵀ
        Gemm.Multiply(Transpose.No, Transpose.Yes, OutChannels, Taps, columnsWide, dycm.ReadOnlySpan, columnsWide, _columns.ReadOnlySpan, columnsWide, Weight.Gradient.Span, Taps);
        var db = Bias.Gradient.Data;
        var dyData = dycm.Data;
        ParallelRange.For(OutChannels, 1, (s, e) =>
        {
            for (int c = s; c < e; c++) db[c] = SumInDouble(dyData.AsSpan(c * columnsWide, columnsWide));
        });
        if (!needInputGradient) return null;
        // dCols[taps × batch·HW] = Wᵀ · dY, then col2im; the columns buffer is reused (cols no longer needed).
        var dcols = _columns;
        Gemm.Multiply(Transpose.Yes, Transpose.No, Taps, columnsWide, OutChannels, Weight.Value.ReadOnlySpan, Taps, dycm.ReadOnlySpan, columnsWide, dcols.Span, columnsWide);
        _haveColumns = false;
        var dx = Tensor.Reuse(ref _inputGradient, x.Shape.ToArray());
        Im2Col.Backward(dcols.ReadOnlySpan, batch, InChannels, x.Dim(2), x.Dim(3), Kernel, Padding, Stride, dx.Span);
        return dx;
    }

    private static float SumInDouble(ReadOnlySpan<float> values)
    {
        // Bias gradients sum ~25k terms; float partial sums from TensorPrimitives are accurate enough per chunk.
        double total = 0;
        const int chunk = 1024;
        for (int i = 0; i < values.Length; i += chunk)
            total += TensorPrimitives.Sum(values.Slice(i, Math.Min(chunk, values.Length - i)));
        return (float)total;
    }
}
