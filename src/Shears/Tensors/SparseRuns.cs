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
    /// <summary>acc[0, length) = Σ value[t] · src[offset[t] + q]: one chunk of vector registers at a time, through every tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Accumulate(float* src, int* offset, float* value, int count, float* acc, int length)
    {
        int q = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; q + 64 <= length; q += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int t = 0; t < count; t++)
                {
                    float* p = src + offset[t] + q;
                    var w = Vector512.Create(value[t]);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p), w, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 16), w, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 32), w, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 48), w, a3);
                }
                a0.Store(acc + q); a1.Store(acc + q + 16); a2.Store(acc + q + 32); a3.Store(acc + q + 48);
            }
            for (; q + 16 <= length; q += 16)
            {
                Vector512<float> a0 = default;
                for (int t = 0; t < count; t++) a0 = Vector512.FusedMultiplyAdd(Vector512.Load(src + offset[t] + q), Vector512.Create(value[t]), a0);
                a0.Store(acc + q);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; q + 32 <= length; q += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int t = 0; t < count; t++)
                {
                    float* p = src + offset[t] + q;
                    var w = Vector256.Create(value[t]);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p), w, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 8), w, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 16), w, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 24), w, a3);
                }
                a0.Store(acc + q); a1.Store(acc + q + 8); a2.Store(acc + q + 16); a3.Store(acc + q + 24);
            }
            for (; q + 8 <= length; q += 8)
            {
                Vector256<float> a0 = default;
                for (int t = 0; t < count; t++) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(src + offset[t] + q), Vector256.Create(value[t]), a0);
                a0.Store(acc + q);
            }
        }
        for (; q < length; q++)
        {
            float a = 0;
            for (int t = 0; t < count; t++) a = MathF.FusedMultiplyAdd(src[offset[t] + q], value[t], a);
            acc[q] = a;
        }
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
