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

    /// <summary>Plain maxima: with argmax bookkeeping this loop ran 18× slower, so the winner is found again in backward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward2x2(float[] x, float[] y, int p0, int p1, int h, int w, int oh, int ow)
    {
        for (int p = p0; p < p1; p++)
        {
            int inBase = p * h * w, outBase = p * oh * ow;
            for (int oy = 0; oy < oh; oy++)
            {
                int r0 = inBase + 2 * oy * w, r1 = r0 + w, o = outBase + oy * ow;
                for (int ox = 0; ox < ow; ox++)
                {
                    int i = r0 + 2 * ox, j = r1 + 2 * ox;
                    // MathF.Max returns NaN when either side is NaN.
                    y[o + ox] = MathF.Max(MathF.Max(x[i], x[i + 1]), MathF.Max(x[j], x[j + 1]));
                }
            }
        }
    }

    /// <summary>
    /// Routes each window's gradient to its first input equal to the window's output. Every input of a full
    /// window is written (the gradient or 0) from integer equality masks, so there is no data-dependent branch;
    /// a window whose maximum is NaN (rare, so the branch predicts well) routes to its first NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward2x2(float[] x, float[] y, float[] dy, float[] dx, int p0, int p1, int h, int w, int oh, int ow)
    {
        for (int p = p0; p < p1; p++)
        {
            int inBase = p * h * w, outBase = p * oh * ow;
            // Windows cover everything but a trailing odd row or column; only then is there anything to clear.
            if ((h | w) % 2 != 0) dx.AsSpan(inBase, h * w).Clear();
            for (int oy = 0; oy < oh; oy++)
            {
                int r0 = inBase + 2 * oy * w, r1 = r0 + w, o = outBase + oy * ow;
                for (int ox = 0; ox < ow; ox++)
                {
                    int i = r0 + 2 * ox, j = r1 + 2 * ox;
                    float m = y[o + ox];
                    if (float.IsNaN(m))
                    {
                        int at = float.IsNaN(x[i]) ? i : float.IsNaN(x[i + 1]) ? i + 1 : float.IsNaN(x[j]) ? j : j + 1;
                        dx[i] = dx[i + 1] = dx[j] = dx[j + 1] = 0f;
                        dx[at] = dy[o + ox];
                        continue;
                    }
                    // Integer masks, not float selects: the JIT turns `cond ? g : 0f` into a branch, and those
                    // mispredict (5x slower here); `cond ? 1 : 0` becomes a flag set.
                    int g = BitConverter.SingleToInt32Bits(dy[o + ox]);
                    int ea = x[i] == m ? 1 : 0, eb = x[i + 1] == m ? 1 : 0, ec = x[j] == m ? 1 : 0;
                    int first = ea, second = eb & ~ea, third = ec & ~(ea | eb), fourth = ~(ea | eb | ec) & 1;
                    dx[i] = BitConverter.Int32BitsToSingle(g & -first);
                    dx[i + 1] = BitConverter.Int32BitsToSingle(g & -second);
                    dx[j] = BitConverter.Int32BitsToSingle(g & -third);
                    dx[j + 1] = BitConverter.Int32BitsToSingle(g & -fourth);
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
