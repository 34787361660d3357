using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shears.Tensors;

/// <summary>
/// Packing routines: copy a block of A or B into the contiguous micro-panel layout the kernels read.
/// A panel of width W holds, for each k step p, W consecutive floats: dst[p·W + r]. Lanes past the live
/// count are zero. Transposition is absorbed here, so all four op(A)/op(B) combinations run the same kernel.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs <paramref name="total"/> lanes (split into panels of <paramref name="width"/>) over
    /// <paramref name="kc"/> steps. When <paramref name="lanesAreRows"/> the source lane r, step p is
    /// src[r·ld + p] (rows of A, or rows of a transposed B: a transposing pack); otherwise it is
    /// src[p·ld + r] (a straight copy of width floats per step).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBlock(bool lanesAreRows, float* src, nint ld, int total, int kc, int width, float* dst)
    {
        for (int q = 0; q < total; q += width)
        {
            int count = Math.Min(width, total - q);
            if (lanesAreRows)
                TransposePanel(src + q * ld, ld, count, kc, width, dst);
            else
                CopyPanel(src + q, ld, count, kc, width, dst);
            dst += (nint)width * kc;
        }
    }

    /// <summary>dst[p·W + r] = src[p·ld + r] for r &lt; count; lanes count..W are zeroed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyPanel(float* src, nint ld, int count, int kc, int width, float* dst)
    {
        if (count == 32 && width == 32 && Vector512.IsHardwareAccelerated)
        {
            for (int p = 0; p < kc; p++)
            {
                Vector512.Store(Vector512.Load(src), dst);
                Vector512.Store(Vector512.Load(src + 16), dst + 16);
                src += ld;
                dst += 32;
            }
            return;
        }
        float* d = dst;
        for (int p = 0; p < kc; p++)
        {
            CopyRow(src, d, count);
            src += ld;
            d += width;
        }
        if (count < width) ZeroLanes(dst, count, kc, width);
    }

    /// <summary>Copies count floats using full vectors, the last one overlapping instead of a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* s, float* d, int count)
    {
        if (Vector512.IsHardwareAccelerated && count >= 16)
        {
            int i = 0;
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(s + i), d + i);
            if (i < count) Vector512.Store(Vector512.Load(s + count - 16), d + count - 16);
        }
        else if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            int i = 0;
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(s + i), d + i);
            if (i < count) Vector256.Store(Vector256.Load(s + count - 8), d + count - 8);
        }
        else
        {
            for (int i = 0; i < count; i++) d[i] = s[i];
        }
    }

    /// <summary>dst[p·W + r] = src[r·ld + p] for r &lt; count; lanes count..W are zeroed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposePanel(float* src, nint ld, int count, int kc, int width, float* dst)
    {
        if (Avx.IsSupported && count >= 8 && kc >= 8)
        {
            // 8×8 register transposes; a partial last block of rows or steps is handled by overlapping the
            // previous block (rewriting identical values) rather than by a scalar tail.
            for (int r0 = 0; ; r0 += 8)
            {
                if (r0 + 8 > count) r0 = count - 8;
                float* s = src + r0 * ld;
                for (int p0 = 0; ; p0 += 8)
                {
                    if (p0 + 8 > kc) p0 = kc - 8;
                    Transpose8x8(s + p0, ld, dst + (nint)p0 * width + r0, width);
                    if (p0 + 8 >= kc) break;
                }
                if (r0 + 8 >= count) break;
            }
        }
        else
        {
            for (int r = 0; r < count; r++)
            {
                float* s = src + r * ld;
                float* d = dst + r;
                for (int p = 0; p < kc; p++) d[(nint)p * width] = s[p];
            }
        }
        if (count < width) ZeroLanes(dst, count, kc, width);
    }

    /// <summary>Zeroes lanes count..width of every step (the padding of a partial panel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ZeroLanes(float* dst, int count, int kc, int width)
    {
        int pad = width - count;
        for (int p = 0; p < kc; p++)
        {
            float* d = dst + (nint)p * width + count;
            if (pad >= 8 && Vector256.IsHardwareAccelerated)
            {
                int i = 0;
                for (; i + 8 <= pad; i += 8) Vector256.Store(Vector256<float>.Zero, d + i);
                if (i < pad) Vector256.Store(Vector256<float>.Zero, d + pad - 8);
            }
            else
            {
                for (int r = 0; r < pad; r++) d[r] = 0f;
            }
        }
    }

    /// <summary>Transposes the 8×8 block at src (row stride lds) into dst (row stride ldd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(src);
        Vector256<float> r1 = Avx.LoadVector256(src + lds);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * lds);
        Vector256<float> r3 = Avx.LoadVector256(src + 3 * lds);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * lds);
        Vector256<float> r5 = Avx.LoadVector256(src + 5 * lds);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * lds);
        Vector256<float> r7 = Avx.LoadVector256(src + 7 * lds);

        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);

        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> u7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }
}
