using System.Runtime.CompilerServices;
using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// Max pooling over NCHW with a square window and no padding; trailing rows/columns that do not fill a window
/// are dropped (floor), as ONNX MaxPool and PyTorch do. The gradient goes to the first maximum of each window
/// in row-major order; a NaN input wins its window and propagates.
/// </summary>
public sealed class MaxPool2d : Layer
{
    private Tensor? _output;
    private Tensor? _inputGradient;
    private Tensor? _input;
    private int[] _argmax = [];

    public MaxPool2d(string name, int kernel = 2, int stride = 0) : base(name)
    {
        if (kernel <= 0 || stride < 0) throw new ArgumentOutOfRangeException(nameof(kernel), $"MaxPool2d '{name}': bad kernel {kernel} or stride {stride}.");
        Kernel = kernel;
        Stride = stride == 0 ? kernel : stride;
    }

    public int Kernel { get; }
    public int Stride { get; }

    public override Layer? Blank() => new MaxPool2d(Name, Kernel, Stride);

    internal override bool Chunkable => true;

    /// <summary>CNN-3's 2×2/2 window takes a path that stores no argmax: backward finds the winner again.</summary>
    private bool IsPair => Kernel == 2 && Stride == 2;

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
        var x = input.Data;
        var yd = y.Data;
        if (IsPair)
        {
            ParallelRange.For(planes, 16, (p0, p1) => Forward2x2(x, yd, p0, p1, h, w, oh, ow));
        }
        else
        {
            if (_argmax.Length < y.Length) _argmax = new int[y.Length];
            var arg = _argmax;
            int k = Kernel, s = Stride;
            ParallelRange.For(planes, 16, (p0, p1) => ForwardGeneral(x, yd, arg, p0, p1, h, w, oh, ow, k, s));
        }
        _input = training ? input : null;
        return y;
    }

    /// <summary>
    /// Plain maxima (with argmax bookkeeping this loop ran 18× slower, so backward finds the winner again), 16
    /// inputs of a row pair at a time where vectors allow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Forward2x2(float[] x, float[] y, int p0, int p1, int h, int w, int oh, int ow)
    {
        fixed (float* px = x, py = y)
        {
            for (int p = p0; p < p1; p++)
            {
                float* plane = px + (long)p * h * w;
                for (int oy = 0; oy < oh; oy++)
                {
                    float* r0 = plane + 2 * oy * w, r1 = r0 + w, o = py + ((long)p * oh + oy) * ow;
                    int done = MaxPoolPairRows.Forward(r0, r1, o, ow);
                    MaxPoolPairRows.ScalarForward(r0 + 2 * done, r1 + 2 * done, o + done, ow - done);
                }
            }
        }
    }

    /// <summary>
    /// Routes each window's gradient to its first input (row-major) equal to the window's output. Every input of
    /// a full window is written (the gradient or 0), so the plane needs no clearing unless a trailing odd row or
    /// column is left over.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Backward2x2(float[] x, float[] y, float[] dy, float[] dx, int p0, int p1, int h, int w, int oh, int ow)
    {
        fixed (float* px = x, py = y, pdy = dy, pdx = dx)
        {
            for (int p = p0; p < p1; p++)
            {
                long inBase = (long)p * h * w, outBase = (long)p * oh * ow;
                if ((h | w) % 2 != 0) new Span<float>(pdx + inBase, h * w).Clear();
                for (int oy = 0; oy < oh; oy++)
                {
                    long row = inBase + 2 * oy * w, o = outBase + (long)oy * ow;
                    int done = MaxPoolPairRows.Backward(px + row, px + row + w, py + o, pdy + o, pdx + row, pdx + row + w, ow);
                    MaxPoolPairRows.ScalarBackward(px + row + 2 * done, px + row + w + 2 * done, py + o + done, pdy + o + done,
                        pdx + row + 2 * done, pdx + row + w + 2 * done, ow - done);
                }
            }
        }
    }

    /// <summary>One 2×2 window: a = top-left, b = top-right, c = bottom-left, d = bottom-right.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void BackwardWindow(float* top, float* bottom, float m, float gradient, float* dTop, float* dBottom)
    {
        if (float.IsNaN(m))
        {
            // Rare, so the branch predicts well: the gradient goes to the first NaN.
            int at = float.IsNaN(top[0]) ? 0 : float.IsNaN(top[1]) ? 1 : float.IsNaN(bottom[0]) ? 2 : 3;
            dTop[0] = dTop[1] = dBottom[0] = dBottom[1] = 0f;
            (at < 2 ? dTop : dBottom)[at & 1] = gradient;
            return;
        }
        // Integer masks, not float selects: the JIT turns `cond ? g : 0f` into a branch, and those mispredict
        // (5x slower here); `cond ? 1 : 0` becomes a flag set.
        int g = BitConverter.SingleToInt32Bits(gradient);
        int ea = top[0] == m ? 1 : 0, eb = top[1] == m ? 1 : 0, ec = bottom[0] == m ? 1 : 0;
        int first = ea, second = eb & ~ea, third = ec & ~(ea | eb), fourth = ~(ea | eb | ec) & 1;
        dTop[0] = BitConverter.Int32BitsToSingle(g & -first);
        dTop[1] = BitConverter.Int32BitsToSingle(g & -second);
        dBottom[0] = BitConverter.Int32BitsToSingle(g & -third);
        dBottom[1] = BitConverter.Int32BitsToSingle(g & -fourth);
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
                            float v = x[rowStart + kx];
                            // A NaN wins its window and stays: later values cannot replace it.
                            if (!float.IsNaN(bestValue) && (v > bestValue || float.IsNaN(v))) { bestValue = v; best = rowStart + kx; }
                        }
                    }
                    yd[outBase + oy * ow + ox] = bestValue;
                    arg[outBase + oy * ow + ox] = best;
                }
        }
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient)
    {
        var input = _input ?? throw BackwardWithoutForward();
        if (!needInputGradient) return null;
        var shape = input.Shape.ToArray();
        var dx = Tensor.Reuse(ref _inputGradient, shape);
        int planes = shape[0] * shape[1], h = shape[2], w = shape[3], planeIn = h * w;
        int oh = outputGradient.Dim(2), ow = outputGradient.Dim(3), planeOut = oh * ow;
        var d = dx.Data;
        var dy = outputGradient.Data;
        if (IsPair)
        {
            var x = input.Data;
            var y = _output!.Data;
            ParallelRange.For(planes, 16, (p0, p1) => Backward2x2(x, y, dy, d, p0, p1, h, w, oh, ow));
            return dx;
        }
        var arg = _argmax;
        ParallelRange.For(planes, 16, (p0, p1) =>
        {
            d.AsSpan(p0 * planeIn, (p1 - p0) * planeIn).Clear();
            for (int i = p0 * planeOut; i < p1 * planeOut; i++) d[arg[i]] += dy[i];
        });
        return dx;
    }
}
