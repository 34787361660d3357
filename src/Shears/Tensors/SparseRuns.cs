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

    /// <summary>The floats in one lane set of <see cref="AccumulateProducts"/>' accumulators: 16 with AVX-512, 8 with AVX2, else 1.</summary>
    public static int ProductLanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;

    /// <summary>
    /// The weight gradient's inner loop, for taps that share one output-gradient run <paramref name="d"/>: for each
    /// tap t, acc[t·L, (t + 1)·L) += the lane-wise sums of d[q] · src[offset[t] + q] over q in [0, length), L
    /// being <see cref="ProductLanes"/>. Nothing past <paramref name="length"/> is read, so whatever follows the run
    /// (an infinity of a neighbouring row, say) adds nothing. Blocks of up to 8 taps keep their accumulators in registers and load each vector of d once for all of them, so a tap costs one
    /// load and one fused multiply-add per vector; the lanes are summed only when the caller has run every image
    /// of its group through them. That replaces a dot product per tap and image (twice the loads, a multiply and
    /// an add apiece, and a horizontal sum each time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AccumulateProducts(float* d, float* src, int* offset, int count, float* acc, int length)
    {
        int lanes = ProductLanes, t = 0;
        for (; t + 8 <= count; t += 8) Products<N8>(d, src, offset + t, acc + t * lanes, length);
        switch (count - t)
        {
            case 1: Products<N1>(d, src, offset + t, acc + t * lanes, length); break;
            case 2: Products<N2>(d, src, offset + t, acc + t * lanes, length); break;
            case 3: Products<N3>(d, src, offset + t, acc + t * lanes, length); break;
            case 4: Products<N4>(d, src, offset + t, acc + t * lanes, length); break;
            case 5: Products<N5>(d, src, offset + t, acc + t * lanes, length); break;
            case 6: Products<N6>(d, src, offset + t, acc + t * lanes, length); break;
            case 7: Products<N7>(d, src, offset + t, acc + t * lanes, length); break;
        }
    }

    /// <summary>N taps' accumulators (N a constant, so the unused ones compile away) through the whole run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Products<TN>(float* d, float* src, int* offset, float* acc, int length) where TN : struct, IConstant
    {
        int n = TN.Value;
        float* p0 = src + offset[0], p1 = n > 1 ? src + offset[1] : p0, p2 = n > 2 ? src + offset[2] : p0, p3 = n > 3 ? src + offset[3] : p0;
        float* p4 = n > 4 ? src + offset[4] : p0, p5 = n > 5 ? src + offset[5] : p0, p6 = n > 6 ? src + offset[6] : p0, p7 = n > 7 ? src + offset[7] : p0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = Vector512.Load(acc), a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            if (n > 1) a1 = Vector512.Load(acc + 16);
            if (n > 2) a2 = Vector512.Load(acc + 32);
            if (n > 3) a3 = Vector512.Load(acc + 48);
            if (n > 4) a4 = Vector512.Load(acc + 64);
            if (n > 5) a5 = Vector512.Load(acc + 80);
            if (n > 6) a6 = Vector512.Load(acc + 96);
            if (n > 7) a7 = Vector512.Load(acc + 112);
            for (int q = 0; q + 16 <= length; q += 16)
            {
                var g = Vector512.Load(d + q);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p0 + q), g, a0);
                if (n > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p1 + q), g, a1);
                if (n > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p2 + q), g, a2);
                if (n > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p3 + q), g, a3);
                if (n > 4) a4 = Vector512.FusedMultiplyAdd(Vector512.Load(p4 + q), g, a4);
                if (n > 5) a5 = Vector512.FusedMultiplyAdd(Vector512.Load(p5 + q), g, a5);
                if (n > 6) a6 = Vector512.FusedMultiplyAdd(Vector512.Load(p6 + q), g, a6);
                if (n > 7) a7 = Vector512.FusedMultiplyAdd(Vector512.Load(p7 + q), g, a7);
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
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = Vector256.Load(acc), a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            if (n > 1) a1 = Vector256.Load(acc + 8);
            if (n > 2) a2 = Vector256.Load(acc + 16);
            if (n > 3) a3 = Vector256.Load(acc + 24);
            if (n > 4) a4 = Vector256.Load(acc + 32);
            if (n > 5) a5 = Vector256.Load(acc + 40);
            if (n > 6) a6 = Vector256.Load(acc + 48);
            if (n > 7) a7 = Vector256.Load(acc + 56);
            for (int q = 0; q + 8 <= length; q += 8)
            {
                var g = Vector256.Load(d + q);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p0 + q), g, a0);
                if (n > 1) a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p1 + q), g, a1);
                if (n > 2) a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p2 + q), g, a2);
                if (n > 3) a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p3 + q), g, a3);
                if (n > 4) a4 = Vector256.FusedMultiplyAdd(Vector256.Load(p4 + q), g, a4);
                if (n > 5) a5 = Vector256.FusedMultiplyAdd(Vector256.Load(p5 + q), g, a5);
                if (n > 6) a6 = Vector256.FusedMultiplyAdd(Vector256.Load(p6 + q), g, a6);
                if (n > 7) a7 = Vector256.FusedMultiplyAdd(Vector256.Load(p7 + q), g, a7);
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
        // What no whole vector covered (all of the run without vectors), into its lanes in order: the fused
        // multiply-add each vector lane would have done.
        int lanes = ProductLanes, done = lanes == 1 ? 0 : length - length % lanes;
        if (done == length) return;
        var ps = stackalloc float*[] { p0, p1, p2, p3, p4, p5, p6, p7 };
        for (int t = 0; t < n; t++)
        {
            float* a = acc + t * lanes;
            for (int q = done; q < length; q++) a[(q - done) % lanes] = MathF.FusedMultiplyAdd(ps[t][q], d[q], a[(q - done) % lanes]);
        }
    }

    /// <summary>The sum of one tap's lanes of <see cref="AccumulateProducts"/>' accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float SumLanes(float* lanes) =>
        Vector512.IsHardwareAccelerated ? Vector512.Sum(Vector512.Load(lanes))
        : Vector256.IsHardwareAccelerated ? Vector256.Sum(Vector256.Load(lanes))
        : lanes[0];

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
