using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shears.Tensors;

/// <summary>
/// The inner loop of the sparse kernels: an output run built as a weighted sum of shifted runs of one source,
/// one per nonzero weight. A chunk of the run stays in vector registers while every weight adds its run to it,
/// so each weight costs one load and one fused multiply-add per vector, and the output is stored once.
/// </summary>
internal static class SparseRuns
{
    /// <summary>
    /// acc[0, length) = Σ value[t] · src[offset[t] + q]: a block of up to 8 vectors of the run at a time stays in
    /// registers through every tap, then the rest of the run (whole vectors) as one block, then a scalar tail.
    /// Every output is one fused multiply-add chain over the taps in order, so the block sizes do not change a
    /// bit. Eight chains in flight cover the fused multiply-add's latency (4 cycles at 2 a cycle); with blocks of
    /// four, a CNN-3 conv2 channel (14 vectors: 3 blocks of 4, then 2 single vectors) went through its taps 5 times
    /// waiting on it, and now goes twice (8 + 6). Measured on that layer at 5% density, 16 images at a time, one
    /// thread, with the row copies of <see cref="CopyRow"/>: forward 1.51 → 1.43 ms per 128 images, the loads
    /// being what bounds it now.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Accumulate(float* src, int* offset, float* value, int count, float* acc, int length)
    {
        int q = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; q + 8 * 16 <= length; q += 8 * 16) Block512<N8>(src + q, offset, value, count, acc + q);
            switch ((length - q) / 16)
            {
                case 1: Block512<N1>(src + q, offset, value, count, acc + q); q += 16; break;
                case 2: Block512<N2>(src + q, offset, value, count, acc + q); q += 32; break;
                case 3: Block512<N3>(src + q, offset, value, count, acc + q); q += 48; break;
                case 4: Block512<N4>(src + q, offset, value, count, acc + q); q += 64; break;
                case 5: Block512<N5>(src + q, offset, value, count, acc + q); q += 80; break;
                case 6: Block512<N6>(src + q, offset, value, count, acc + q); q += 96; break;
                case 7: Block512<N7>(src + q, offset, value, count, acc + q); q += 112; break;
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; q + 8 * 8 <= length; q += 8 * 8) Block256<N8>(src + q, offset, value, count, acc + q);
            switch ((length - q) / 8)
            {
                case 1: Block256<N1>(src + q, offset, value, count, acc + q); q += 8; break;
                case 2: Block256<N2>(src + q, offset, value, count, acc + q); q += 16; break;
                case 3: Block256<N3>(src + q, offset, value, count, acc + q); q += 24; break;
                case 4: Block256<N4>(src + q, offset, value, count, acc + q); q += 32; break;
                case 5: Block256<N5>(src + q, offset, value, count, acc + q); q += 40; break;
                case 6: Block256<N6>(src + q, offset, value, count, acc + q); q += 48; break;
                case 7: Block256<N7>(src + q, offset, value, count, acc + q); q += 56; break;
            }
        }
        for (; q < length; q++)
        {
            float a = 0;
            for (int t = 0; t < count; t++) a = MathF.FusedMultiplyAdd(src[offset[t] + q], value[t], a);
            acc[q] = a;
        }
    }

    /// <summary>acc[0, 16·N) over every tap, N vectors held in registers (N a constant, so the unused ones compile away).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Block512<TN>(float* src, int* offset, float* value, int count, float* acc) where TN : struct, IConstant
    {
        int n = TN.Value;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int t = 0; t < count; t++)
        {
            float* p = src + offset[t];
            var w = Vector512.Create(value[t]);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p), w, a0);
            if (n > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 16), w, a1);
            if (n > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 32), w, a2);
            if (n > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 48), w, a3);
            if (n > 4) a4 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 64), w, a4);
            if (n > 5) a5 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 80), w, a5);
            if (n > 6) a6 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 96), w, a6);
            if (n > 7) a7 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 112), w, a7);
        }
        a0.Store(acc);
        if (n > 1) a1.Store(acc + 16);
        if (n > 2) a2.Store(acc + 32);
        if (n > 3) a3.Store(acc + 48);
        if (n > 4) a4.Store(acc + 64);
        if (n > 5) a5.Store(acc + 80);
        if (n > 6) a6.Store(acc + 96);
        if (n > 7) a7.Store(acc + 112);
    }

    /// <summary><see cref="Block512{TN}"/> with 8-float vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Block256<TN>(float* src, int* offset, float* value, int count, float* acc) where TN : struct, IConstant
    {
        int n = TN.Value;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int t = 0; t < count; t++)
        {
            float* p = src + offset[t];
            var w = Vector256.Create(value[t]);
            a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p), w, a0);
            if (n > 1) a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 8), w, a1);
            if (n > 2) a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 16), w, a2);
            if (n > 3) a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 24), w, a3);
            if (n > 4) a4 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 32), w, a4);
            if (n > 5) a5 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 40), w, a5);
            if (n > 6) a6 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 48), w, a6);
            if (n > 7) a7 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 56), w, a7);
        }
        a0.Store(acc);
        if (n > 1) a1.Store(acc + 8);
        if (n > 2) a2.Store(acc + 16);
        if (n > 3) a3.Store(acc + 24);
        if (n > 4) a4.Store(acc + 32);
        if (n > 5) a5.Store(acc + 40);
        if (n > 6) a6.Store(acc + 48);
        if (n > 7) a7.Store(acc + 56);
    }

    /// <summary>
    /// dst[0, n) = src[0, n): one row of an image, a few dozen floats. A span copy's set-up costs as much as the row
    /// at this length, and the kernels copy hundreds of rows per image, so this stores whole vectors, the last one
    /// overlapping the one before it instead of a scalar tail. It never reads or writes outside the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void CopyRow(float* src, float* dst, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            int i = 0;
            for (; i + 16 <= n; i += 16) Vector512.Load(src + i).Store(dst + i);
            if (i < n) Vector512.Load(src + n - 16).Store(dst + n - 16);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            int i = 0;
            for (; i + 8 <= n; i += 8) Vector256.Load(src + i).Store(dst + i);
            if (i < n) Vector256.Load(src + n - 8).Store(dst + n - 8);
        }
        else
            for (int i = 0; i < n; i++) dst[i] = src[i];
    }

    /// <summary>dst[0, n) = src[0, n) + b, as <see cref="CopyRow"/> stores it (one float addition per element, as a span addition does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void AddRow(float* src, float b, float* dst, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var v = Vector512.Create(b);
            int i = 0;
            for (; i + 16 <= n; i += 16) (Vector512.Load(src + i) + v).Store(dst + i);
            if (i < n) (Vector512.Load(src + n - 16) + v).Store(dst + n - 16);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var v = Vector256.Create(b);
            int i = 0;
            for (; i + 8 <= n; i += 8) (Vector256.Load(src + i) + v).Store(dst + i);
            if (i < n) (Vector256.Load(src + n - 8) + v).Store(dst + n - 8);
        }
        else
            for (int i = 0; i < n; i++) dst[i] = src[i] + b;
    }

    /// <summary>
    /// This thread's scratch in <paramref name="cache"/>, grown as needed. It is allocated on the pinned heap, so
    /// the kernels and their parallel partitions can hold raw pointers into it without a fixed block.
    /// </summary>
    public static unsafe float* PinnedScratch(ref float[]? cache, long length)
    {
        if (length > Array.MaxLength) ThrowHelper.TooLarge("A sparse kernel's scratch", length);
        if (cache is null || cache.Length < length) cache = GC.AllocateUninitializedArray<float>((int)Math.Max(1, length), pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(cache));
    }
}
