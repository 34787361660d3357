using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shears.Nn;

/// <summary>
/// Vector kernels for one output row of a 2×2, stride-2 max-pool: the two input rows r0 and r1 are read 16 (or
/// 8) floats at a time and give 8 (or 4) outputs. Chunks start at even columns and the last one is moved left
/// to end at the row's last full window, overlapping the one before: recomputing a window gives the same
/// values, so nothing past the row is read or written and no scalar tail is needed. A chunk holding a NaN is
/// left to the caller's scalar windows, which pick the first NaN. Each returns how many outputs it produced:
/// all of them, or 0 when the row is too short for a vector or the machine has no suitable vectors.
/// </summary>
internal static unsafe class MaxPoolPairRows
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Forward(float* r0, float* r1, float* output, int ow)
    {
        int span = 2 * ow;
        if (Avx512F.IsSupported && span >= 16)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
            var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);
            for (int c = 0; ; c += 16)
            {
                int at = Math.Min(c, span - 16);
                var a = Vector512.Load(r0 + at);
                var b = Vector512.Load(r1 + at);
                if (Vector512.EqualsAll(a, a) && Vector512.EqualsAll(b, b))
                {
                    var m = Avx512F.Max(a, b);
                    Avx512F.Max(Avx512F.PermuteVar16x32(m, even), Avx512F.PermuteVar16x32(m, odd)).GetLower().Store(output + at / 2);
                }
                else
                {
                    ScalarForward(r0 + at, r1 + at, output + at / 2, 8);
                }
                if (at == span - 16) return ow;
            }
        }
        if (Avx2.IsSupported && span >= 8)
        {
            var even = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6);
            var odd = Vector256.Create(1, 3, 5, 7, 1, 3, 5, 7);
            for (int c = 0; ; c += 8)
            {
                int at = Math.Min(c, span - 8);
                var a = Vector256.Load(r0 + at);
                var b = Vector256.Load(r1 + at);
                if (Vector256.EqualsAll(a, a) && Vector256.EqualsAll(b, b))
                {
                    var m = Avx.Max(a, b);
                    Avx.Max(Avx2.PermuteVar8x32(m, even), Avx2.PermuteVar8x32(m, odd)).GetLower().Store(output + at / 2);
                }
                else
                {
                    ScalarForward(r0 + at, r1 + at, output + at / 2, 4);
                }
                if (at == span - 8) return ow;
            }
        }
        return 0;
    }

    /// <summary>
    /// The gradient of each window goes to its first input equal to the output, in the order top-left,
    /// top-right, bottom-left, bottom-right; the bottom-right takes it when none of the others does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Backward(float* r0, float* r1, float* output, float* outputGradient, float* d0, float* d1, int ow)
    {
        int span = 2 * ow;
        if (Avx512F.IsSupported && span >= 16)
        {
            var duplicate = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
            var partner = Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
            var right = Vector512.Create(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
            for (int c = 0; ; c += 16)
            {
                int at = Math.Min(c, span - 16);
                var m8 = Vector256.Load(output + at / 2);
                if (Vector256.EqualsAll(m8, m8))
                {
                    var m = Avx512F.PermuteVar16x32(m8.ToVector512Unsafe(), duplicate);
                    var g = Avx512F.PermuteVar16x32(Vector256.Load(outputGradient + at / 2).ToVector512Unsafe(), duplicate).AsInt32();
                    var e0 = Vector512.Equals(Vector512.Load(r0 + at), m).AsInt32();
                    var e1 = Vector512.Equals(Vector512.Load(r1 + at), m).AsInt32();
                    var s0 = Avx512F.PermuteVar16x32(e0, partner);
                    var s1 = Avx512F.PermuteVar16x32(e1, partner);
                    var top = e0 & ~(s0 & right);
                    var bottom = ~(e0 | s0) & ((e1 & ~right) | (~s1 & right));
                    (g & top).AsSingle().Store(d0 + at);
                    (g & bottom).AsSingle().Store(d1 + at);
                }
                else
                {
                    ScalarBackward(r0 + at, r1 + at, output + at / 2, outputGradient + at / 2, d0 + at, d1 + at, 8);
                }
                if (at == span - 16) return ow;
            }
        }
        if (Avx2.IsSupported && span >= 8)
        {
            var duplicate = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
            var partner = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
            var right = Vector256.Create(0, -1, 0, -1, 0, -1, 0, -1);
            for (int c = 0; ; c += 8)
            {
                int at = Math.Min(c, span - 8);
                var m4 = Vector128.Load(output + at / 2);
                if (Vector128.EqualsAll(m4, m4))
                {
                    var m = Avx2.PermuteVar8x32(m4.ToVector256Unsafe(), duplicate);
                    var g = Avx2.PermuteVar8x32(Vector128.Load(outputGradient + at / 2).ToVector256Unsafe(), duplicate).AsInt32();
                    var e0 = Vector256.Equals(Vector256.Load(r0 + at), m).AsInt32();
                    var e1 = Vector256.Equals(Vector256.Load(r1 + at), m).AsInt32();
                    var s0 = Avx2.PermuteVar8x32(e0, partner);
                    var s1 = Avx2.PermuteVar8x32(e1, partner);
                    var top = e0 & ~(s0 & right);
                    var bottom = ~(e0 | s0) & ((e1 & ~right) | (~s1 & right));
                    (g & top).AsSingle().Store(d0 + at);
                    (g & bottom).AsSingle().Store(d1 + at);
                }
                else
                {
                    ScalarBackward(r0 + at, r1 + at, output + at / 2, outputGradient + at / 2, d0 + at, d1 + at, 4);
                }
                if (at == span - 8) return ow;
            }
        }
        return 0;
    }

    /// <summary>Window by window; MathF.Max returns NaN when either side is NaN.</summary>
    public static void ScalarForward(float* r0, float* r1, float* output, int count)
    {
        for (int i = 0; i < count; i++)
            output[i] = MathF.Max(MathF.Max(r0[2 * i], r0[2 * i + 1]), MathF.Max(r1[2 * i], r1[2 * i + 1]));
    }

    public static void ScalarBackward(float* r0, float* r1, float* output, float* outputGradient, float* d0, float* d1, int count)
    {
        for (int i = 0; i < count; i++)
            MaxPool2d.BackwardWindow(r0 + 2 * i, r1 + 2 * i, output[i], outputGradient[i], d0 + 2 * i, d1 + 2 * i);
    }
}
