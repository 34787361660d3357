using Shears.Tensors;

namespace Shears.Nn;

/// <summary>Max pooling over NCHW with a square window and no padding; trailing rows/columns that do not fill a window are dropped (floor), as ONNX MaxPool and PyTorch do.</summary>
public sealed class MaxPool2d : Layer
{
    private Tensor? _output;
    private Tensor? _inputGradient;
    private int[] _argmax = [];
    private int[]? _inputShape;

    public MaxPool2d(string name, int kernel = 2, int stride = 0) : base(name)
    {
        if (kernel <= 0 || stride < 0) throw new ArgumentOutOfRangeException(nameof(kernel), $"MaxPool2d '{name}': bad kernel {kernel} or stride {stride}.");
        Kernel = kernel;
        Stride = stride == 0 ? kernel : stride;
    }

    public int Kernel { get; }
    public int Stride { get; }

    public override int[] OutputShape(ReadOnlySpan<int> inputShape)
    {
        if (inputShape.Length != 3 || inputShape[1] < Kernel || inputShape[2] < Kernel) throw BadInput($"[C, H, W] with H, W ≥ {Kernel}", inputShape);
        return [inputShape[0], (inputShape[1] - Kernel) / Stride + 1, (inputShape[2] - Kernel) / Stride + 1];
    }

    public override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 4) throw BadInput("[batch, C, H, W]", input.Shape);
        var os = OutputShape(input.Shape[1..]);
        int batch = input.Dim(0), h = input.Dim(2), w = input.Dim(3), oh = os[1], ow = os[2];
        int planes = batch * os[0];
        var y = Tensor.Reuse(ref _output, batch, os[0], oh, ow);
        if (_argmax.Length < y.Length) _argmax = new int[y.Length];
        var x = input.Data;
        var yd = y.Data;
        var arg = _argmax;
        int k = Kernel, s = Stride;
        if (k == 2 && s == 2)
            ParallelRange.For(planes, 16, (p0, p1) => Forward2x2(x, yd, arg, p0, p1, h, w, oh, ow));
        else
            ParallelRange.For(planes, 16, (p0, p1) => ForwardGeneral(x, yd, arg, p0, p1, h, w, oh, ow, k, s));
        _inputShape = training ? input.Shape.ToArray() : null;
        return y;
    }

    /// <summary>The 2×2, stride-2 window of CNN-3: four loads per output, no inner loops.</summary>
    private static void Forward2x2(float[] x, float[] y, int[] arg, int p0, int p1, int h, int w, int oh, int ow)
    {
        for (int p = p0; p < p1; p++)
        {
            int inBase = p * h * w, outBase = p * oh * ow;
            for (int oy = 0; oy < oh; oy++)
            {
                int r0 = inBase + 2 * oy * w, r1 = r0 + w, o = outBase + oy * ow;
                for (int ox = 0; ox < ow; ox++)
                {
                    int i = r0 + 2 * ox, best = i;
                    float v = x[i];
                    // NaN propagates: a NaN input wins so it is not silently hidden.
                    if (x[i + 1] > v || float.IsNaN(x[i + 1])) { v = x[i + 1]; best = i + 1; }
                    int j = r1 + 2 * ox;
                    if (x[j] > v || float.IsNaN(x[j])) { v = x[j]; best = j; }
                    if (x[j + 1] > v || float.IsNaN(x[j + 1])) { v = x[j + 1]; best = j + 1; }
                    if (float.IsNaN(x[i])) { v = x[i]; best = i; }
                    y[o + ox] = v;
                    arg[o + ox] = best;
                }
            }
        }
    }

    private static void ForwardGeneral(float[] x, float[] yd, int[] arg, int p0, int p1, int h, int w, int oh, int ow, int k, int s)
    {
        for (int p = p0; p < p1; p++)
        {
            int inBase = p * h * w, outBase = p * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int best = inBase + oy * s * w + ox * s;
                    float bestValue = x[best];
                    for (int ky = 0; ky < k; ky++)
                    {
                        int rowStart = inBase + (oy * s + ky) * w + ox * s;
                        for (int kx = 0; kx < k; kx++)
                        {
                            float v = rowStart + kx == best ? bestValue : x[rowStart + kx];
                            // NaN propagates: a NaN input wins so it is not silently hidden.
                            if (v > bestValue || float.IsNaN(v)) { bestValue = v; best = rowStart + kx; }
                        }
                    }
                    yd[outBase + oy * ow + ox] = bestValue;
                    arg[outBase + oy * ow + ox] = best;
                }
        }
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient)
    {
        var shape = _inputShape ?? throw BackwardWithoutForward();
        if (!needInputGradient) return null;
        var dx = Tensor.Reuse(ref _inputGradient, shape);
        int planes = shape[0] * shape[1], planeIn = shape[2] * shape[3];
        int planeOut = outputGradient.Dim(2) * outputGradient.Dim(3);
        var d = dx.Data;
        var dy = outputGradient.Data;
        var arg = _argmax;
        ParallelRange.For(planes, 16, (p0, p1) =>
        {
            d.AsSpan(p0 * planeIn, (p1 - p0) * planeIn).Clear();
            for (int i = p0 * planeOut; i < p1 * planeOut; i++) d[arg[i]] += dy[i];
        });
        return dx;
    }
}
